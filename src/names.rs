//! The naming rules of the Kubernetes API server (`k8s.io/apimachinery/pkg/util/validation`),
//! so that names are rejected here, with a file and line, rather than at apply time.

/// Why a name was rejected; the message completes "… is not valid: ".
pub type NameError = String;

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// RFC 1123 label: namespaces, most label-like names. `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, ≤ 63.
pub fn dns_label(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "must be at most 63 characters, found {}",
            name.len()
        ));
    }
    if !name.chars().all(|c| is_alnum_lower(c) || c == '-') {
        return Err("must consist of lower case letters, digits and '-'".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("must start and end with a lower case letter or digit".into());
    }
    Ok(())
}

/// RFC 1035 label: Service names. Like [`dns_label`] but must start with a letter.
pub fn dns1035_label(name: &str) -> Result<(), NameError> {
    dns_label(name)?;
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("must start with a lower case letter".into());
    }
    Ok(())
}

/// RFC 1123 subdomain: most object names. Dot-separated labels, ≤ 253.
pub fn dns_subdomain(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 253 {
        return Err(format!(
            "must be at most 253 characters, found {}",
            name.len()
        ));
    }
    if !name
        .chars()
        .all(|c| is_alnum_lower(c) || c == '-' || c == '.')
    {
        return Err("must consist of lower case letters, digits, '-' and '.'".into());
    }
    let edges_ok = |part: &str| part.starts_with(is_alnum_lower) && part.ends_with(is_alnum_lower);
    if !name.split('.').all(edges_ok) {
        return Err(
            "each dot-separated part must start and end with a lower case letter or digit".into(),
        );
    }
    Ok(())
}

/// Path-segment names (RBAC objects): anything but `.`/`..` and names holding `/` or `%`.
pub fn path_segment(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("may not be '{name}'"));
    }
    if name.contains(['/', '%']) {
        return Err("may not contain '/' or '%'".into());
    }
    Ok(())
}

/// A qualified name: label and annotation keys, `[prefix/]name`, name ≤ 63 characters of
/// `[A-Za-z0-9_.-]` starting and ending alphanumeric, prefix a DNS subdomain.
pub fn qualified_name(key: &str) -> Result<(), NameError> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns_subdomain(prefix).map_err(|why| format!("prefix \"{prefix}\" {why}"))?;
    }
    if name.is_empty() {
        return Err("name part must not be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "name part must be at most 63 characters, found {}",
            name.len()
        ));
    }
    label_chars(name).map_err(|why| format!("name part {why}"))
}

/// A label value: empty, or ≤ 63 characters of `[A-Za-z0-9_.-]` starting and ending alphanumeric.
pub fn label_value(value: &str) -> Result<(), NameError> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err(format!(
            "must be at most 63 characters, found {}",
            value.len()
        ));
    }
    label_chars(value)
}

fn label_chars(text: &str) -> Result<(), NameError> {
    if !text
        .chars()
        .all(|c| is_alnum(c) || matches!(c, '-' | '_' | '.'))
    {
        return Err("must consist of letters, digits, '-', '_' and '.'".into());
    }
    if !text.starts_with(is_alnum) || !text.ends_with(is_alnum) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Repository grammar of the distribution reference spec: an optional registry host
/// (with a dot, a port or `localhost`), then lower-case path components.
pub fn image_repository(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.len() > 255 {
        return Err("must be at most 255 characters".into());
    }
    if text.contains(['@'])
        || text
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
    {
        return Err("must not carry a tag or digest; give the tag separately".into());
    }
    let mut parts = text.split('/').peekable();
    if let Some(first) = parts.peek()
        && (first.contains(['.', ':']) || *first == "localhost")
        && text.contains('/')
    {
        let host = first.split(':').next().unwrap_or_default();
        let host_ok = !host.is_empty()
            && host.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        let port_ok = first
            .split_once(':')
            .is_none_or(|(_, port)| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
        if !host_ok || !port_ok {
            return Err(format!(
                "registry host \"{first}\" is not a valid host[:port]"
            ));
        }
        parts.next();
    }
    for part in parts {
        if !path_component(part) {
            return Err(format!(
                "path component \"{part}\" must be lower case letters and digits, separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn path_component(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !part.starts_with(alnum) || !part.ends_with(alnum) {
        return false;
    }
    let mut separator = String::new();
    for c in part.chars() {
        if alnum(c) {
            if !matches!(separator.as_str(), "" | "." | "_" | "__")
                && !separator.chars().all(|s| s == '-')
            {
                return false;
            }
            separator.clear();
        } else if matches!(c, '.' | '_' | '-') {
            separator.push(c);
        } else {
            return false;
        }
    }
    true
}

/// An image tag: up to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
pub fn image_tag(text: &str) -> Result<(), String> {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || text.len() > 128 {
        return Err("must start with a letter, digit or '_' and be at most 128 characters".into());
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err("must consist of letters, digits, '_', '.' and '-'".into());
    }
    Ok(())
}

/// A storage quantity with a binary suffix: `8Gi`, `512Mi`, `1Ti`.
pub fn storage_quantity(text: &str) -> Result<(), NameError> {
    storage_bytes(text).map(|_| ())
}

/// The bytes of a storage quantity with a binary suffix (`8Gi` is 8 × 2^30). Decimal
/// suffixes are refused: Kubernetes reads `8G` as 8 × 10^9 bytes while Prometheus reads `8GB`
/// as 8 × 2^30, and one size must mean the same to both.
pub fn storage_bytes(text: &str) -> Result<u64, NameError> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &text[digits.len()..];
    let number = (!digits.starts_with('0') && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse::<u64>().ok())
        .flatten();
    let unit = match suffix {
        "Ki" => 1u64 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "K" | "M" | "G" | "T" if number.is_some() => {
            let power = 3 * (1 + "KMGT".find(suffix).unwrap_or_default());
            return Err(format!(
                "write {digits}{suffix}i: sizes take a binary suffix (Ki, Mi, Gi, Ti); Kubernetes reads {text} as {digits} × 10^{power} bytes"
            ));
        }
        "KB" | "MB" | "GB" | "TB" if number.is_some() => {
            return Err(format!(
                "write {digits}{}i: sizes take a binary suffix (Ki, Mi, Gi, Ti) as Kubernetes writes them; Prometheus is given the same size in its own spelling ({text})",
                &suffix[..1]
            ));
        }
        _ => 0,
    };
    match number.map(|n| n.checked_mul(unit)) {
        Some(Some(bytes)) if bytes > 0 => Ok(bytes),
        Some(None) => Err("too large".into()),
        _ => Err("expected a whole number with Ki, Mi, Gi or Ti, such as 8Gi".into()),
    }
}

/// A duration of one or more `<number><unit>` parts, units `ms`, `s`, `m`, `h`, `d`, `w`,
/// `y` (what both Prometheus and Go's flag parsing accept for the values used here).
pub fn duration(text: &str) -> Result<(), NameError> {
    let mut rest = text;
    if rest.is_empty() {
        return Err("must not be empty".into());
    }
    while !rest.is_empty() {
        let number = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if number == 0 {
            return Err("expected parts such as 30s, 15d or 24h0m0s".into());
        }
        rest = &rest[number..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .iter()
            .find(|unit| rest.starts_with(**unit));
        match unit {
            Some(unit) => rest = &rest[unit.len()..],
            None => return Err("expected a unit: ms, s, m, h, d, w or y".into()),
        }
    }
    Ok(())
}

/// A proxy log filter as Linkerd's proxy reads `LINKERD2_PROXY_LOG`: comma-separated
/// directives, each a level or `target=level` (`warn,linkerd=info,hickory=error`). A filter
/// the proxy cannot parse would stop every meshed pod's proxy at start.
pub fn proxy_log_filter(text: &str) -> Result<(), NameError> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    for directive in text.split(',') {
        let (target, level) = match directive.rsplit_once('=') {
            Some((target, level)) => (Some(target), level),
            None => (None, directive),
        };
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            return Err(format!(
                "\"{directive}\" does not end in a level; expected directives such as warn or linkerd=info, with levels {}",
                LEVELS.join(", ")
            ));
        }
        let target_ok = target.is_none_or(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_:.-[]{}=".contains(c))
        });
        if !target_ok {
            return Err(format!("\"{directive}\" has an invalid target"));
        }
    }
    Ok(())
}

/// A full image reference: `repository[:tag][@sha256:<64 hex>]`.
pub fn image_reference(text: &str) -> Result<(), NameError> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64
            || !hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            return Err(format!(
                "digest \"{digest}\" must be sha256: and 64 lower-case hex digits"
            ));
        }
    }
    // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
    let last = rest.rsplit('/').next().unwrap_or_default();
    let (repository, tag) = match last.rsplit_once(':') {
        Some((_, tag)) => (&rest[..rest.len() - tag.len() - 1], Some(tag)),
        None => (rest, None),
    };
    image_repository(repository)?;
    if let Some(tag) = tag {
        image_tag(tag).map_err(|why| format!("tag \"{tag}\" {why}"))?;
    } else if digest.is_none() {
        return Err("has no tag: pin a version, such as :1.2.3".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_log_filters() {
        for good in [
            "warn",
            "warn,linkerd=info,hickory=error",
            "linkerd_proxy::inbound=DEBUG",
        ] {
            assert!(proxy_log_filter(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "loud",
            "warn,",
            "=info",
            "linkerd=info hickory=error",
            "warn\ninfo",
        ] {
            assert!(proxy_log_filter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dns_labels() {
        assert!(dns_label("bookinfo").is_ok());
        assert!(dns_label("a-1").is_ok());
        assert!(dns_label("9lives").is_ok());
        assert!(dns_label("").is_err());
        assert!(dns_label("Book_Info").is_err());
        assert!(dns_label("-a").is_err());
        assert!(dns_label("a-").is_err());
        assert!(dns_label(&"a".repeat(64)).is_err());
        assert!(dns_label(&"a".repeat(63)).is_ok());
        assert!(dns1035_label("9lives").is_err());
        assert!(dns1035_label("lives9").is_ok());
    }

    #[test]
    fn subdomains() {
        assert!(dns_subdomain("servers.policy.linkerd.io").is_ok());
        assert!(dns_subdomain("productpage-v1").is_ok());
        assert!(dns_subdomain("a..b").is_err());
        assert!(dns_subdomain(".a").is_err());
        assert!(dns_subdomain("a.-b").is_err());
        assert!(dns_subdomain("UPPER").is_err());
        assert!(dns_subdomain(&"a".repeat(254)).is_err());
    }

    #[test]
    fn path_segments() {
        assert!(path_segment("system:auth-delegator").is_ok());
        assert!(path_segment("linkerd-linkerd-identity").is_ok());
        assert!(path_segment("..").is_err());
        assert!(path_segment("a/b").is_err());
        assert!(path_segment("50%").is_err());
    }

    #[test]
    fn quantities_and_durations() {
        assert!(storage_quantity("8Gi").is_ok());
        assert!(storage_quantity("512Mi").is_ok());
        assert!(storage_quantity("8G").is_err());
        assert!(storage_quantity("08Gi").is_err());
        assert!(storage_quantity("Gi").is_err());
        assert_eq!(storage_bytes("8Gi"), Ok(8 << 30));
        assert_eq!(storage_bytes("6553Mi"), Ok(6553 << 20));
        assert_eq!(storage_bytes("3Ki"), Ok(3072));
        assert_eq!(storage_bytes("2Ti"), Ok(2 << 40));
        assert!(storage_bytes("7GB").unwrap_err().starts_with("write 7Gi:"));
        assert_eq!(
            storage_bytes("512M"),
            Err("write 512Mi: sizes take a binary suffix (Ki, Mi, Gi, Ti); Kubernetes reads 512M as 512 × 10^6 bytes".into())
        );
        assert!(
            storage_bytes("2T")
                .unwrap_err()
                .ends_with("2 × 10^12 bytes")
        );
        assert_eq!(storage_bytes("99999999999Ti"), Err("too large".into()));
        assert!(storage_bytes("8gi").is_err());
        assert!(storage_bytes("1.5Gi").is_err());
        for ok in ["15d", "30s", "24h0m0s", "1m", "500ms", "2w"] {
            assert!(duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "15", "d", "1.5h", "10 s", "3x"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references() {
        assert!(image_reference("docker.io/istio/examples-bookinfo-details-v1:1.20.3").is_ok());
        assert!(image_reference("localhost:5000/app:v1").is_ok());
        assert!(image_reference(&format!("quay.io/p/p@sha256:{}", "a".repeat(64))).is_ok());
        assert!(image_reference("quay.io/p/p:v1@sha256:1234").is_err());
        assert!(
            image_reference("docker.io/istio/details")
                .unwrap_err()
                .contains("no tag")
        );
        assert!(image_reference("localhost:5000/app").is_err());
        assert!(image_reference("docker.io/X:1").is_err());
        assert!(image_reference("x:bad tag").is_err());
    }

    #[test]
    fn qualified_names_and_values() {
        assert!(qualified_name("node-role.kubernetes.io/control-plane").is_ok());
        assert!(qualified_name("app").is_ok());
        assert!(qualified_name("app.kubernetes.io/").is_err());
        assert!(qualified_name("Bad_Prefix/x").is_err());
        assert!(qualified_name("x/-y").is_err());
        assert!(qualified_name(&"k".repeat(64)).is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2_3-x").is_ok());
        assert!(label_value("a b").is_err());
        assert!(label_value("-a").is_err());
    }
}
