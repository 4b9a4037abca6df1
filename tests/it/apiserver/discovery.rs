//! Discovery documents: the legacy `/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}`
//! and the aggregated `apidiscovery.k8s.io/v2` lists kube's `Discovery::run_aggregated` asks
//! for; CRD kinds appear once their CRD is Established.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::builtins;
use super::catalog::{self, ResourceType};
use super::store::Store;

/// The media type of an aggregated discovery answer.
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an `Accept` header asks for aggregated discovery.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let part = part.replace(' ', "");
        part.contains("as=APIGroupDiscoveryList")
            && part.contains("g=apidiscovery.k8s.io")
            && part.contains("v=v2")
    })
}

/// Served types grouped by API group, groups in the server's order, versions preferred first.
fn groups(store: &Store) -> Vec<(String, Vec<String>, Vec<ResourceType>)> {
    let mut by_group: BTreeMap<String, (Vec<String>, Vec<ResourceType>)> = BTreeMap::new();
    for rt in catalog::served(store) {
        let entry = by_group.entry(rt.group.clone()).or_default();
        for version in &rt.versions {
            if !entry.0.contains(version) {
                entry.0.push(version.clone());
            }
        }
        entry.1.push(rt);
    }
    let rank = |group: &str| {
        builtins::GROUP_ORDER
            .iter()
            .position(|g| *g == group)
            .unwrap_or(builtins::GROUP_ORDER.len())
    };
    let mut list: Vec<(String, Vec<String>, Vec<ResourceType>)> =
        by_group.into_iter().map(|(g, (v, r))| (g, v, r)).collect();
    list.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    for (_, versions, _) in &mut list {
        versions.sort_by_key(|v| std::cmp::Reverse(catalog::version_priority(v)));
    }
    list
}

/// `group/version`, or the version alone for core.
fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// `/api`.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.1.74:6443"}],
    })
}

/// An APIGroup entry of `/apis`.
fn group_entry(name: &str, versions: &[String]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(name, v), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": list,
        "preferredVersion": list.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis`.
pub fn group_list(store: &Store) -> Value {
    let groups: Vec<Value> = groups(store)
        .iter()
        .filter(|(g, _, _)| !g.is_empty())
        .map(|(g, v, _)| group_entry(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`.
pub fn group(store: &Store, name: &str) -> Option<Value> {
    let (_, versions, _) = groups(store)
        .into_iter()
        .find(|(g, _, _)| g == name && !g.is_empty())?;
    let mut entry = group_entry(name, &versions);
    entry["kind"] = "APIGroup".into();
    entry["apiVersion"] = "v1".into();
    Some(entry)
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub fn resource_list(store: &Store, group: &str, version: &str) -> Option<Value> {
    let (_, _, types) = groups(store).into_iter().find(|(g, _, _)| g == group)?;
    let mut resources = Vec::new();
    for rt in types.iter().filter_map(|rt| rt.at_version(version)) {
        resources.push(json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verb_names(),
            "shortNames": rt.short_names,
            "categories": rt.categories,
        }));
        if rt.status {
            resources.push(json!({
                "name": format!("{}/status", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    for resource in &mut resources {
        if let Some(map) = resource.as_object_mut() {
            map.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
        }
    }
    let mut list = json!({
        "kind": "APIResourceList",
        "groupVersion": group_version(group, version),
        "resources": resources,
    });
    if !group.is_empty() {
        list["apiVersion"] = "v1".into();
    }
    Some(list)
}

/// One APIGroupDiscovery of an aggregated list.
fn aggregated_group(name: &str, versions: &[String], types: &[ResourceType]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = types
                .iter()
                .filter_map(|rt| rt.at_version(version))
                .map(|rt| {
                    let kind = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
                    let mut resource = json!({
                        "resource": rt.plural,
                        "responseKind": kind,
                        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": rt.singular,
                        "verbs": rt.verb_names(),
                    });
                    if !rt.short_names.is_empty() {
                        resource["shortNames"] = json!(rt.short_names);
                    }
                    if !rt.categories.is_empty() {
                        resource["categories"] = json!(rt.categories);
                    }
                    if rt.status {
                        resource["subresources"] = json!([{
                            "subresource": "status",
                            "responseKind": kind,
                            "verbs": ["get", "patch", "update"],
                        }]);
                    }
                    resource
                })
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if name.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": name, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// The aggregated list for `/api` (`core`) or `/apis`.
pub fn aggregated(store: &Store, core: bool) -> Value {
    let items: Vec<Value> = groups(store)
        .iter()
        .filter(|(g, _, _)| g.is_empty() == core)
        .map(|(g, v, t)| aggregated_group(g, v, t))
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.4",
        "gitCommit": "74cdb426e2dc3c7d2e0a0e8e5c39dfa2a0a0e3bc",
        "gitTreeState": "clean",
        "buildDate": "2025-08-12T18:19:32Z",
        "goVersion": "go1.24.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}
