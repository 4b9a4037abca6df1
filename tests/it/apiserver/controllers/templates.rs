//! What workload controllers share: owner references, template hashes, and pods made
//! from a pod template.

use serde_json::{Value, json};

use super::super::json;
use super::super::store::mix;

/// An owner reference to `owner` as its controller.
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": json::name(owner),
        "uid": json::uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// FNV-1a over the template's canonical JSON, as a decimal string would be hashed.
fn fnv(value: &Value) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in value.to_string().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The alphabet of Kubernetes' safe-encoded names (no vowels, no confusable digits).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `len` safe characters from `n`.
fn safe_encode(mut n: u64, len: usize) -> String {
    let mut out = String::new();
    for _ in 0..len {
        let i = usize::try_from(n % 27).unwrap_or(0);
        out.push(char::from(SAFE[i]));
        n /= 27;
    }
    out
}

/// The `pod-template-hash` of a template (9 to 10 safe characters, like the real one).
pub fn template_hash(template: &Value) -> String {
    let hash = fnv(template);
    let len = if hash.is_multiple_of(2) { 10 } else { 9 };
    safe_encode(mix(u64::from(hash)), len)
}

/// A five-character suffix derived from `seed`.
pub fn suffix(seed: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    safe_encode(mix(hash), 5)
}

/// A pod from `template`, owned by `owner`, with extra labels.
pub fn pod(template: &Value, owner: &Value, name: &str, labels: &[(&str, String)]) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": json::namespace(owner),
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        pod["metadata"]["annotations"] = annotations.clone();
    }
    for (key, value) in labels {
        json::set(&mut pod, &["metadata", "labels", key], value.clone().into());
    }
    pod
}

/// Whether a pod counts: not being deleted and not finished.
pub fn active(pod: &Value) -> bool {
    !json::deleting(pod) && !matches!(json::str_at(pod, "/status/phase"), "Succeeded" | "Failed")
}

/// Whether a pod is Ready.
pub fn ready(pod: &Value) -> bool {
    json::condition_true(pod, "Ready")
}

/// The pods in `namespace` controlled by the object with uid `owner`.
pub fn owned_pods<'a>(pods: &'a [Value], namespace: &str, owner: &str) -> Vec<&'a Value> {
    pods.iter()
        .filter(|p| json::namespace(p) == namespace && json::controlled_by(p, owner))
        .collect()
}
