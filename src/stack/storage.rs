//! Prometheus's data volume and how much of it the samples may take. The retention size stays
//! below the volume's size: the volume also holds the write-ahead log and the blocks a
//! compaction writes before it removes their sources, and an emptyDir that outgrows its
//! `sizeLimit` gets the pod evicted, all history with it.

use serde::Serialize;

use super::fields::{ObjectName, Quantity};
use super::load::Doc;
use super::prometheus::{Storage, Volume};
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;

/// The retention size when `retentionSize` is left out, in percent of the volume.
pub const DEFAULT_RETENTION_PERCENT: u64 = 80;

/// The largest retention size accepted, in percent of the volume. Prometheus's storage guide
/// (prometheus/prometheus `docs/storage.md`, "Right-Sizing Retention Size") recommends at
/// most 80-85%, the rest being room for compactions in progress.
pub const MAX_RETENTION_PERCENT: u64 = 85;

impl Storage {
    /// The retention size in bytes: `retentionSize`, else the default share of `size`.
    pub fn retention_bytes(&self) -> u64 {
        match &self.retention_size {
            Some(size) => size.bytes(),
            None => share(self.size.bytes(), DEFAULT_RETENTION_PERCENT),
        }
    }
}

/// `percent` of `bytes`, rounded down to whole MiB (whole KiB below 1 MiB), so that the
/// numbers read well in both Kubernetes's and Prometheus's units.
fn share(bytes: u64, percent: u64) -> u64 {
    let exact = u64::try_from(u128::from(bytes) * u128::from(percent) / 100).unwrap_or(u64::MAX);
    [1 << 20, 1 << 10]
        .into_iter()
        .find(|unit| exact >= *unit)
        .map_or(exact, |unit| exact - exact % unit)
}

/// `bytes` in the largest of `units` (name, power of two) that divides it, else in `bytes`.
fn in_units(bytes: u64, units: [(&str, u32); 4], byte: &str) -> String {
    units
        .into_iter()
        .find(|(_, shift)| bytes >= 1 << shift && bytes.is_multiple_of(1 << shift))
        .map_or_else(
            || format!("{bytes}{byte}"),
            |(unit, shift)| format!("{}{unit}", bytes >> shift),
        )
}

/// `bytes` as `--storage.tsdb.retention.size` takes it. Prometheus's size units are powers of
/// two, `1KB` being 1024 bytes (prometheus/prometheus `docs/storage.md`; the flag is parsed
/// by alecthomas/units `ParseBase2Bytes`), so `GB` there is Kubernetes's `Gi`.
pub fn prometheus_size(bytes: u64) -> String {
    in_units(bytes, [("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)], "B")
}

/// `bytes` as a Kubernetes quantity with a binary suffix, for messages.
fn kubernetes_size(bytes: u64) -> String {
    in_units(bytes, [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)], "")
}

/// What templates see of `spec.storage`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageView {
    /// The kind of volume.
    volume: Volume,
    /// The claim's request, or the emptyDir's `sizeLimit`.
    size: Quantity,
    /// The claim's StorageClass, if named.
    storage_class: Option<ObjectName>,
    /// The retention size in Prometheus's units (`6553MB`).
    tsdb_retention_size: String,
}

impl From<Storage> for StorageView {
    fn from(storage: Storage) -> Self {
        Self {
            tsdb_retention_size: prometheus_size(storage.retention_bytes()),
            volume: storage.volume,
            size: storage.size,
            storage_class: storage.storage_class,
        }
    }
}

/// A StorageClass only with a claim, and a retention size that leaves the volume room.
pub(super) fn check(doc: &Doc, path: &FieldPath, storage: &Storage, errors: &mut Vec<Diagnostic>) {
    if storage.volume == Volume::EmptyDir && storage.storage_class.is_some() {
        let at = path.key("storageClass");
        errors.push(
            Diagnostic::new(
                doc.at(&at),
                "a StorageClass provisions a persistentVolumeClaim, but the volume is an emptyDir",
            )
            .field(at.to_string())
            .help("set `volume: persistentVolumeClaim` to keep the data in a claim, or remove `storageClass`"),
        );
    }
    let Some(retention) = &storage.retention_size else {
        return;
    };
    let size = storage.size.bytes();
    let most = share(size, MAX_RETENTION_PERCENT);
    if retention.bytes() <= most {
        return;
    }
    let message = if retention.bytes() >= size {
        format!(
            "a retention size of {retention} is not below the volume's size of {}: the samples would fill the volume",
            storage.size
        )
    } else {
        format!(
            "a retention size of {retention} leaves less than {}% of the volume's {} for the write-ahead log and compactions",
            100 - MAX_RETENTION_PERCENT,
            storage.size
        )
    };
    let full = match storage.volume {
        Volume::EmptyDir => "an emptyDir over its sizeLimit gets the pod evicted with all its data",
        Volume::PersistentVolumeClaim => "on a full volume Prometheus can no longer write",
    };
    let at = path.key("retentionSize");
    errors.push(
        Diagnostic::new(doc.at(&at), message)
            .field(at.to_string())
            .help(format!(
                "set retentionSize to at most {} ({MAX_RETENTION_PERCENT}% of size, the most Prometheus's storage guide recommends), leave it out for {} ({DEFAULT_RETENTION_PERCENT}%), or raise size; {full}",
                kubernetes_size(most),
                kubernetes_size(share(size, DEFAULT_RETENTION_PERCENT)),
            )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> u64 {
        Quantity::parse(text).expect("a size").bytes()
    }

    #[test]
    fn prometheus_units_are_powers_of_two() {
        assert_eq!(prometheus_size(bytes("8Gi")), "8GB");
        assert_eq!(prometheus_size(8 << 30), "8GB");
        assert_eq!(prometheus_size(bytes("6553Mi")), "6553MB");
        assert_eq!(prometheus_size(bytes("1536Mi")), "1536MB");
        assert_eq!(prometheus_size(bytes("1024Mi")), "1GB");
        assert_eq!(prometheus_size(bytes("2Ti")), "2TB");
        assert_eq!(prometheus_size(bytes("3Ki")), "3KB");
        assert_eq!(prometheus_size(1000), "1000B");
        assert_eq!(prometheus_size(1025), "1025B");
    }

    #[test]
    fn the_default_is_eighty_percent_in_whole_mebibytes() {
        // 8 GiB × 0.8 = 6553.6 MiB.
        assert_eq!(share(bytes("8Gi"), 80), 6553 << 20);
        assert_eq!(kubernetes_size(share(bytes("8Gi"), 80)), "6553Mi");
        assert_eq!(kubernetes_size(share(bytes("8Gi"), 85)), "6963Mi");
        assert_eq!(kubernetes_size(share(bytes("10Gi"), 80)), "8Gi");
        // Below a MiB, whole KiB; never zero, which Prometheus reads as "no limit".
        assert_eq!(share(bytes("1Ki"), 80), 819);
        assert_eq!(share(bytes("1Mi"), 80), 819 << 10);
        // No overflow at the top of the range.
        assert_eq!(share(u64::MAX, 100), u64::MAX - ((1 << 20) - 1));
    }

    #[test]
    fn the_view_carries_the_retention_size_in_prometheus_units() {
        let storage = |retention: Option<&str>| Storage {
            volume: Volume::EmptyDir,
            size: Quantity::parse("8Gi").expect("a size"),
            storage_class: None,
            retention_size: retention.map(|r| Quantity::parse(r).expect("a size")),
        };
        let view = |s: Storage| serde_json::to_value(StorageView::from(s)).expect("JSON");
        assert_eq!(view(storage(None))["tsdbRetentionSize"], "6553MB");
        assert_eq!(view(storage(Some("6Gi")))["tsdbRetentionSize"], "6GB");
        assert_eq!(view(storage(Some("6Gi")))["size"], "8Gi");
    }
}
