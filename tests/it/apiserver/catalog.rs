//! The resource types the server serves: the built-in ones, and those CustomResourceDefinitions
//! add once they are Established.

use serde_json::Value;

use super::builtins;
use super::json;
use super::store::Store;
use super::validation::NameRule;

/// Which verbs a resource type supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbs {
    /// Everything, including `deletecollection`.
    All,
    /// Everything but `deletecollection` (namespaces).
    NoCollection,
    /// Only `create` (access reviews).
    CreateOnly,
}

/// A served resource type at one version.
// Independent facts about a type, as discovery lists them.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, empty for core.
    pub group: String,
    /// The version addressed.
    pub version: String,
    /// Every served version, preferred first.
    pub versions: Vec<String>,
    /// Kind.
    pub kind: String,
    /// Plural resource name, as in URLs.
    pub plural: String,
    /// Singular resource name.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether there is a `/status` subresource (status is then ignored on the main resource).
    pub status: bool,
    /// Whether `metadata.generation` is kept.
    pub generation: bool,
    /// Supported verbs.
    pub verbs: Verbs,
    /// How names are validated.
    pub names: NameRule,
    /// Whether a CustomResourceDefinition defines it.
    pub custom: bool,
}

impl ResourceType {
    /// `group/version`, or `v1` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for core: how errors name the resource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The verbs for discovery.
    pub fn verb_names(&self) -> Vec<&'static str> {
        match self.verbs {
            Verbs::All => vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            Verbs::NoCollection => {
                vec![
                    "create", "delete", "get", "list", "patch", "update", "watch",
                ]
            }
            Verbs::CreateOnly => vec!["create"],
        }
    }

    /// This type addressed at another of its served versions.
    pub fn at_version(&self, version: &str) -> Option<Self> {
        self.versions.iter().any(|v| v == version).then(|| Self {
            version: version.to_owned(),
            ..self.clone()
        })
    }
}

/// The types defined by CustomResourceDefinitions; with `established_only`, only those
/// whose CRD has `Established=True` (which is what the server serves).
pub fn custom(store: &Store, established_only: bool) -> Vec<ResourceType> {
    store
        .list("apiextensions.k8s.io", "customresourcedefinitions")
        .filter(|crd| !established_only || json::condition_true(crd, "Established"))
        .filter_map(from_crd)
        .collect()
}

/// The type a CRD defines, if its spec is complete enough to serve.
fn from_crd(crd: &Value) -> Option<ResourceType> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let list = |v: &Value, key: &str| -> Vec<String> { json::strings(v.get(key)) };
    let served: Vec<&Value> = spec
        .get("versions")?
        .as_array()?
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
        .collect();
    let mut versions: Vec<String> = served.iter().filter_map(|v| text(v, "name")).collect();
    versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    let first = versions.first()?.clone();
    let status = served
        .iter()
        .any(|v| v.pointer("/subresources/status").is_some());
    let kind = text(names, "kind")?;
    Some(ResourceType {
        group: text(spec, "group")?,
        version: first,
        versions,
        singular: text(names, "singular").unwrap_or_else(|| kind.to_lowercase()),
        kind,
        plural: text(names, "plural")?,
        namespaced: spec.get("scope").and_then(Value::as_str) == Some("Namespaced"),
        short_names: list(names, "shortNames"),
        categories: list(names, "categories"),
        status,
        generation: true,
        verbs: Verbs::All,
        names: NameRule::Subdomain,
        custom: true,
    })
}

/// Kubernetes version ordering: GA over beta over alpha, higher numbers first, then others.
pub fn version_priority(version: &str) -> (u8, u64, u64) {
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u64>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let minor = |prefix: &str| {
        tail.strip_prefix(prefix)
            .and_then(|n| n.parse::<u64>().ok())
    };
    if tail.is_empty() {
        (3, major, 0)
    } else if let Some(n) = minor("beta") {
        (2, major, n)
    } else if let Some(n) = minor("alpha") {
        (1, major, n)
    } else {
        (0, 0, 0)
    }
}

/// Every served type: built-ins and established custom ones.
pub fn served(store: &Store) -> Vec<ResourceType> {
    let mut all = builtins::all().to_vec();
    all.extend(custom(store, true));
    all
}

/// The first type (built-in, then custom) that `matches`.
fn find(
    store: &Store,
    established_only: bool,
    matches: impl Fn(&ResourceType) -> bool,
) -> Option<ResourceType> {
    builtins::all()
        .iter()
        .find(|rt| matches(rt))
        .cloned()
        .or_else(|| {
            custom(store, established_only)
                .into_iter()
                .find(|rt| matches(rt))
        })
}

/// The served type at `group`/`version` with plural `plural`.
pub fn resolve(store: &Store, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
    find(store, true, |rt| rt.group == group && rt.plural == plural)
        .and_then(|rt| rt.at_version(version))
}

/// The type of kind `kind` in `api_version`, whether served yet or not (for direct access).
pub fn by_kind(store: &Store, api_version: &str, kind: &str) -> Option<ResourceType> {
    let (group, version) = split_api_version(api_version);
    find(store, false, |rt| rt.group == group && rt.kind == kind)
        .and_then(|rt| rt.at_version(version))
}

/// The type stored as (group, plural), whether served yet or not.
pub fn by_plural(store: &Store, group: &str, plural: &str) -> Option<ResourceType> {
    find(store, false, |rt| rt.group == group && rt.plural == plural)
}

/// (`group`, `version`) of an apiVersion; the group is empty for core.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}
