//! Templates (`templates/<stack>/*.yaml.j2`), rendered strictly by minijinja: an undefined
//! value is an error that points at the expression. The output is parsed back into objects.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::{Environment, ErrorKind, Value as Context};

use super::RenderError;
use super::filters;
use super::object::{Object, Origin, Rendered};
use super::prerendered;
use super::scalar;
use super::slots::Slots;
use crate::diagnostic::Diagnostic;
use crate::source::{Location, SourceFile, Span};
use crate::stack::StackKind;
use crate::text_file::{self, ReadError};
use crate::yaml::values;

/// How deep below the templates directory files are read: `<stack>/<dir>/<file>`.
const TEMPLATE_DEPTH: usize = 3;

/// Said of every error located in a template's output.
const OUTPUT_HELP: &str =
    "the line numbers count lines of the template's output, not of the template";

/// The most a template or data file may hold: the largest default (a Grafana dashboard) is
/// about 40 KiB; the cap keeps a wrong file from being read whole.
const MAX_TEMPLATE_FILE: u64 = 4 << 20;

/// Extensions of the data files templates may read (dashboards, for example).
const DATA_EXTENSIONS: [&str; 3] = ["json", "yaml", "yml"];

/// Whether a file in a templates directory is read: a template (`*.j2`) or a data file.
fn is_template_file(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext == "j2" || DATA_EXTENSIONS.contains(&ext))
}

/// Suffix of every template; other files are data for the templates.
const TEMPLATE_SUFFIX: &str = ".j2";

/// Suffix of the templates that render manifests; other files (macros) are only imported.
const MANIFEST_SUFFIX: &str = ".yaml.j2";

/// A set of template files, keyed by their name below the templates directory
/// (`bookinfo/deployments.yaml.j2`).
#[derive(Debug, Clone)]
pub struct TemplateSet {
    files: Vec<(String, Arc<SourceFile>)>,
    /// Whether these are the templates compiled into the binary, some of which were
    /// rendered at build time (see [`super::prerendered`]).
    embedded: bool,
}

impl TemplateSet {
    /// The templates compiled into the binary.
    pub fn embedded() -> Self {
        Self::new(crate::embedded::templates(), Path::new("templates"), true)
    }

    /// The templates below `dir`: `DIR/<stack>/<file>` and `DIR/<stack>/<dir>/<file>`, for the
    /// four stack names, of the names [`is_template_file`] accepts. Nothing else in `dir` is
    /// opened.
    pub fn read(dir: &Path) -> Result<Self, RenderError> {
        let wanted = |relative: &Path, is_dir: bool| {
            let mut parts = relative.iter().filter_map(|part| part.to_str());
            let Some(stack) = parts.next() else {
                return false;
            };
            if !StackKind::ALL.iter().any(|kind| kind.name() == stack) {
                return false;
            }
            is_dir || is_template_file(relative)
        };
        let files = text_file::read_tree(
            dir,
            TEMPLATE_DEPTH,
            &wanted,
            MAX_TEMPLATE_FILE,
            "a template file",
        )
        .map_err(|(path, err)| match err {
            ReadError::Io(source) => RenderError::ReadTemplates { path, source },
            ReadError::NotRegular(what) => RenderError::TemplateNotRegular { path, what },
            ReadError::Content(diagnostic) => diagnostic.into(),
        })?;
        Ok(Self::new(files, dir, false))
    }

    fn new(files: Vec<Arc<SourceFile>>, root: &Path, embedded: bool) -> Self {
        let files = files
            .into_iter()
            .filter_map(|file| {
                let name = file
                    .path
                    .strip_prefix(root)
                    .ok()?
                    .to_str()?
                    .replace('\\', "/");
                Some((name, file))
            })
            .collect();
        Self { files, embedded }
    }

    /// A minijinja environment holding every template: undefined values are errors, every
    /// string written as a YAML scalar of its own (see [`super::scalar`]), Jinja block
    /// whitespace trimmed so that block tags do not leave blank lines in YAML.
    pub fn environment(&self, slots: &Slots) -> Result<Environment<'_>, Diagnostic> {
        let mut env = scalar::environment().map_err(|err| self.diagnostic(&err))?;
        filters::add(&mut env, slots);
        // Templates compile when first used, on whichever thread renders them: a render of
        // one stack compiles only that stack's templates and what they import.
        let sources: HashMap<String, Arc<SourceFile>> = self
            .files
            .iter()
            .filter(|(name, _)| name.ends_with(TEMPLATE_SUFFIX))
            .map(|(name, file)| (name.clone(), Arc::clone(file)))
            .collect();
        env.set_loader(move |name| Ok(sources.get(name).map(|file| file.text.to_string())));
        Ok(env)
    }

    /// The files below `<stack>/` that are not templates (dashboards, for example), by name
    /// relative to that directory, for the templates' `files` variable. JSON files must parse;
    /// the embedded ones are known to (a test reads them), and are not read again on each run.
    /// A file's text is copied into the template's values only when a template reads it.
    pub fn data_files(&self, stack: StackKind) -> Result<Context, Diagnostic> {
        let prefix = format!("{}/", stack.name());
        let mut files = Vec::new();
        for (name, file) in &self.files {
            let Some(relative) = name
                .strip_prefix(&prefix)
                .filter(|n| !n.ends_with(TEMPLATE_SUFFIX))
            else {
                continue;
            };
            if !self.embedded {
                check_json(relative, file)?;
            }
            files.push((relative.to_owned(), Arc::clone(file)));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Context::from_object(DataFiles(files)))
    }

    /// The manifest templates of `stack`, by name.
    pub fn manifests(&self, stack: StackKind) -> impl Iterator<Item = &str> {
        let prefix = format!("{}/", stack.name());
        self.files
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(move |name| name.starts_with(&prefix) && name.ends_with(MANIFEST_SUFFIX))
    }

    /// The templates of `stack` that only hold macros (those that manifests import), to
    /// compile on their own so that an error in one is reported even where no manifest
    /// imports it. None for the embedded templates: a test compiles every one, and the
    /// manifests that import them are mostly rendered at build time.
    pub fn macros(&self, stack: StackKind) -> impl Iterator<Item = &str> {
        let prefix = format!("{}/", stack.name());
        self.files
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(move |name| {
                !self.embedded
                    && name.starts_with(&prefix)
                    && name.ends_with(TEMPLATE_SUFFIX)
                    && !name.ends_with(MANIFEST_SUFFIX)
            })
    }

    /// Compiles the template `name` into `env`.
    pub fn compile(&self, env: &Environment<'_>, name: &str) -> Result<(), Diagnostic> {
        env.get_template(name)
            .map(drop)
            .map_err(|err| self.diagnostic(&err))
    }

    /// A guess at the cost of rendering the template `name`: the length of its source, or of
    /// its output where that was rendered at build time (which is then parsed, not rendered).
    pub fn weight(&self, name: &str) -> usize {
        let prerendered = if self.embedded {
            prerendered::output_len(name)
        } else {
            None
        };
        prerendered.unwrap_or_else(|| self.file(name).map_or(0, |file| file.text.len()))
    }

    fn file(&self, name: &str) -> Option<&Arc<SourceFile>> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, file)| file)
    }

    /// Renders the template `name` with `context` and parses its documents into objects of
    /// `stack`. An embedded template rendered at build time for the same values is not
    /// rendered again: its output and documents are taken as they are.
    pub fn render(
        &self,
        env: &Environment<'_>,
        slots: &Slots,
        name: &str,
        context: &Context,
        stack: StackKind,
    ) -> Result<Vec<Object>, Diagnostic> {
        let prerendered = if self.embedded {
            prerendered::lookup(name, context, slots)
        } else {
            None
        };
        let (text, documents) = if let Some((text, documents)) = prerendered {
            (std::borrow::Cow::Borrowed(text), Some(documents))
        } else {
            let text = env
                .get_template(name)
                .and_then(|template| template.render(context))
                .map_err(|err| self.diagnostic(&err))?;
            (std::borrow::Cow::Owned(text), None)
        };
        let shown = self
            .file(name)
            .map_or_else(|| name.into(), |file| file.path.clone());
        let prerendered = documents.is_some();
        let rendered = Arc::new(Rendered::new(
            SourceFile::new(format!("{} (rendered)", shown.display()), text),
            prerendered,
        ));
        let documents = match documents {
            Some(documents) => documents,
            None => values::parse_documents(&rendered.file)
                .map_err(|diagnostic| diagnostic.help(OUTPUT_HELP))?
                .into_iter()
                .enumerate()
                .filter(|(_, value)| !value.is_null())
                .collect(),
        };
        let mut objects = Vec::with_capacity(documents.len());
        for (index, value) in documents {
            let origin = Origin::Template {
                rendered: Arc::clone(&rendered),
                document: index,
            };
            objects.push(Object::new(value, origin, stack)?);
        }
        Ok(objects)
    }

    /// Turns a minijinja error into a diagnostic at the failing expression.
    fn diagnostic(&self, err: &minijinja::Error) -> Diagnostic {
        let file = err.name().and_then(|name| self.file(name));
        let Some(file) = file else {
            return Diagnostic::new(
                Location::new(&SourceFile::new("templates", ""), Span::new(1, 1, 1)),
                err.to_string(),
            );
        };
        // minijinja points at the failing part of an expression (`.images.tga`); widen the
        // range back over the dotted name it belongs to (`spec.images.tga`).
        let range = err.range().map(|range| {
            let head = file.text.get(..range.start).unwrap_or_default();
            let name =
                head.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            name.len()..range.end
        });
        let span = match range.clone() {
            Some(range) => span_of(&file.text, range),
            None => Span::new(err.line().unwrap_or(1), 1, 1),
        };
        let expression = range
            .and_then(|range| file.text.get(range))
            .unwrap_or_default();
        let message = match (err.kind(), expression) {
            (ErrorKind::UndefinedError, expr) if !expr.is_empty() => {
                format!("`{expr}` is undefined")
            }
            (kind, _) => match err.detail() {
                Some(detail) => format!("{kind}: {detail}"),
                None => kind.to_string(),
            },
        };
        let diagnostic = Diagnostic::new(Location::new(file, span), message);
        match err.kind() {
            ErrorKind::UndefinedError => diagnostic.help(
                "the template context holds: stack, namespace, spec, workloads, cluster, stacks (each with namespace and spec), files",
            ),
            _ => diagnostic,
        }
    }
}

/// A stack's data files, by name, as the templates' `files` map.
#[derive(Debug)]
struct DataFiles(Vec<(String, Arc<SourceFile>)>);

impl minijinja::value::Object for DataFiles {
    fn get_value(self: &Arc<Self>, key: &Context) -> Option<Context> {
        let key = key.as_str()?;
        let at = self
            .0
            .binary_search_by(|(name, _)| name.as_str().cmp(key))
            .ok()?;
        Some(Context::from(&*self.0[at].1.text))
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Values(
            self.0
                .iter()
                .map(|(name, _)| Context::from(name.as_str()))
                .collect(),
        )
    }
}

/// An error where `file`, a data file named `relative`, is JSON by its name and does not parse.
fn check_json(relative: &str, file: &Arc<SourceFile>) -> Result<(), Diagnostic> {
    let is_json = Path::new(relative)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if !is_json {
        return Ok(());
    }
    let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(&file.text) else {
        return Ok(());
    };
    let span = Span::new(err.line(), err.column(), 1);
    Err(Diagnostic::new(
        Location::new(file, span),
        format!(
            "invalid JSON: {}",
            err.to_string().replacen(
                &format!(" at line {} column {}", err.line(), err.column()),
                "",
                1
            )
        ),
    ))
}

/// Line, column and length of the byte `range` of `text`.
fn span_of(text: &str, range: std::ops::Range<usize>) -> Span {
    let before = text.get(..range.start).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    let len = text
        .get(range)
        .map_or(1, |s| s.lines().next().unwrap_or_default().chars().count());
    Span::new(line, col, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tree::{self, Node, NodeKind};

    /// An object's origin is its document's position, and the position tree is built from
    /// the same text later: both must see the same documents in every layout a template can
    /// produce.
    #[test]
    fn values_and_trees_count_the_same_documents() {
        for text in [
            "",
            "# only a comment\n",
            "a: 1\n",
            "---\na: 1\n",
            "# c\n---\na: 1\n---\n",
            "---\n---\na: 1\n---\n\n---\nb: 2\n",
            "a: 1\n---\n# between\n---\nb: 2\n...\n",
        ] {
            let file = SourceFile::new("t.yaml", text);
            let trees = tree::parse_stream(&file).unwrap();
            let values = values::parse_documents(&file).unwrap();
            assert_eq!(trees.len(), values.len(), "{text:?}");
            for (tree, value) in trees.iter().zip(&values) {
                assert_eq!(
                    tree.is_some(),
                    !value.is_null()
                        || matches!(
                            tree,
                            Some(Node {
                                kind: NodeKind::Scalar(_),
                                ..
                            })
                        ),
                    "{text:?}"
                );
            }
        }
    }

    /// The documents taken from build time are those a render at run time gives, with the
    /// same output text to point errors into.
    #[test]
    fn prerendered_templates_are_what_a_render_gives() {
        let platform = crate::stack::StackSource::Embedded.load().unwrap();
        let embedded = TemplateSet::embedded();
        let afresh = TemplateSet {
            embedded: false,
            ..embedded.clone()
        };
        let slots = Slots::default();
        let env = embedded.environment(&slots).unwrap();
        let mut taken = Vec::new();
        for stack in &platform.stacks {
            let context = crate::render::context(&platform, stack, &embedded).unwrap();
            for name in embedded.manifests(stack.kind) {
                if prerendered::lookup(name, &context, &slots).is_none() {
                    continue;
                }
                taken.push(name.to_owned());
                let from_build = embedded
                    .render(&env, &slots, name, &context, stack.kind)
                    .unwrap();
                let from_run = afresh
                    .render(&env, &slots, name, &context, stack.kind)
                    .unwrap();
                assert_eq!(from_build.len(), from_run.len(), "{name}");
                for (built, run) in from_build.iter().zip(&from_run) {
                    assert_eq!((&built.key, &built.value), (&run.key, &run.value));
                    let (
                        Origin::Template {
                            rendered: built,
                            document: built_document,
                        },
                        Origin::Template {
                            rendered: run,
                            document: run_document,
                        },
                    ) = (&built.origin, &run.origin)
                    else {
                        panic!("{name}: objects of a template come from its output");
                    };
                    assert_eq!((&built.file, built_document), (&run.file, run_document));
                }
            }
        }
        // Those that read the workloads, the cluster or other stacks, and those that render
        // nothing (Linkerd's heartbeat, off by default), are rendered at run time.
        assert_eq!(
            taken,
            [
                "linkerd/config.yaml.j2",
                "linkerd/crds.yaml.j2",
                "linkerd/destination.yaml.j2",
                "linkerd/gateway-api-crds.yaml.j2",
                "linkerd/identity.yaml.j2",
                "linkerd/proxy-injector.yaml.j2",
                "linkerd/webhooks.yaml.j2",
                "prometheus/kube-state-metrics.yaml.j2",
                "prometheus/node-exporter.yaml.j2",
                "prometheus/rbac.yaml.j2",
                "grafana/dashboards.yaml.j2",
                "grafana/grafana.yaml.j2",
                "bookinfo/deployments.yaml.j2",
                "bookinfo/serviceaccounts.yaml.j2",
                "bookinfo/services.yaml.j2",
            ]
        );
    }

    /// The checks take the documents rendered at build time as fitting their kinds' schemas,
    /// with valid labels and images, without reading them again; here they are read.
    #[test]
    fn prerendered_documents_fit_their_schemas() {
        let platform = crate::stack::StackSource::Embedded.load().unwrap();
        let embedded = TemplateSet::embedded();
        let slots = Slots::default();
        let env = embedded.environment(&slots).unwrap();
        let mut read = 0;
        for stack in &platform.stacks {
            let context = crate::render::context(&platform, stack, &embedded).unwrap();
            for name in embedded.manifests(stack.kind) {
                if prerendered::lookup(name, &context, &slots).is_none() {
                    continue;
                }
                for object in embedded
                    .render(&env, &slots, name, &context, stack.kind)
                    .unwrap()
                {
                    assert!(object.is_prerendered(), "{}", object.key);
                    let (_, info) =
                        super::super::kinds::builtin(object.api_version(), &object.key.kind)
                            .unwrap_or_else(|| panic!("{}: not a built-in kind", object.key));
                    let unknown = (info.schema_check)(&object.value).unwrap_or_else(|err| {
                        panic!("{}: {} at {}", object.key, err.inner(), err.path())
                    });
                    assert!(
                        unknown.is_empty(),
                        "{}: fields outside the schema: {unknown:?}",
                        object.key
                    );
                    let broken = super::super::checks::content(&object);
                    let messages: Vec<&str> = broken.iter().map(|d| d.message.as_str()).collect();
                    assert!(messages.is_empty(), "{messages:?}");
                    read += 1;
                }
            }
        }
        assert!(read > 20, "only {read} documents");
    }

    /// The embedded macro files are not compiled on each run: every embedded template
    /// compiles.
    #[test]
    fn embedded_templates_compile() {
        let embedded = TemplateSet::embedded();
        let env = embedded.environment(&Slots::default()).unwrap();
        let mut macros = 0;
        for (name, _) in embedded
            .files
            .iter()
            .filter(|(n, _)| n.ends_with(TEMPLATE_SUFFIX))
        {
            embedded
                .compile(&env, name)
                .unwrap_or_else(|err| panic!("{err}"));
            macros += usize::from(!name.ends_with(MANIFEST_SUFFIX));
        }
        assert!(macros >= 2, "{macros}");
        assert_eq!(embedded.macros(StackKind::Linkerd).count(), 0);
        let read = TemplateSet {
            embedded: false,
            ..embedded.clone()
        };
        assert!(read.macros(StackKind::Linkerd).count() >= 2);
    }

    /// The embedded data files are not parsed on each run: the JSON ones parse.
    #[test]
    fn embedded_json_data_files_parse() {
        let embedded = TemplateSet::embedded();
        let mut parsed = 0;
        for (name, file) in &embedded.files {
            if !name.ends_with(TEMPLATE_SUFFIX) {
                check_json(name, file).unwrap_or_else(|err| panic!("{err}"));
                parsed += usize::from(Path::new(name).extension().is_some_and(|e| e == "json"));
            }
        }
        assert!(parsed >= 4, "{parsed}");
    }

    /// Other values than those of the default stack files render the template afresh, and
    /// so do real values of the slots (bootstrap's certificates).
    #[test]
    fn other_values_are_rendered_afresh() {
        let context = |namespace: &str, gateway_api: &str| {
            minijinja::context! {
                namespace => namespace,
                spec => minijinja::context! { gatewayApi => gateway_api },
            }
        };
        let render = Slots::default();
        let crds = |namespace, gateway_api| {
            prerendered::lookup(
                "linkerd/crds.yaml.j2",
                &context(namespace, gateway_api),
                &render,
            )
        };
        assert!(crds("linkerd", "if-absent").is_some());
        assert!(crds("l5d", "if-absent").is_none());
        let gateway = |gateway_api| {
            let context = context("linkerd", gateway_api);
            prerendered::lookup("linkerd/gateway-api-crds.yaml.j2", &context, &render)
        };
        assert!(gateway("if-absent").is_some());
        assert!(gateway("always").is_none());

        let platform = crate::stack::StackSource::Embedded.load().unwrap();
        let embedded = TemplateSet::embedded();
        let linkerd = platform
            .stacks
            .iter()
            .find(|stack| stack.kind == StackKind::Linkerd)
            .unwrap();
        let context = crate::render::context(&platform, linkerd, &embedded).unwrap();
        let webhooks = "linkerd/webhooks.yaml.j2";
        assert!(prerendered::lookup(webhooks, &context, &render).is_some());
        assert_eq!(render.used().len(), 4, "{:?}", render.used());
        let service = "linkerd-sp-validator".to_owned();
        let bootstrap = Slots::with_values(
            [(
                crate::render::Slot::WebhookCaBundle { service },
                "PEM".into(),
            )]
            .into(),
        );
        assert!(prerendered::lookup(webhooks, &context, &bootstrap).is_none());
        assert!(bootstrap.used().is_empty());
    }

    #[test]
    fn spans_from_byte_ranges() {
        let text = "a: 1\nb: {{ x.y }}\n";
        let start = text.find("x.y").unwrap();
        assert_eq!(span_of(text, start..start + 3), Span::new(2, 7, 3));
    }
}
