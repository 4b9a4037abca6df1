//! File-path fields that hold what belongs in the file: a PEM block or base64 pasted where
//! its path should be. Such a value is never quoted back, in the message or the snippet.

use super::load::Doc;
use crate::diagnostic::Diagnostic;
use crate::field_path::FieldPath;

/// Base64 characters in a row beyond which a value is key or certificate material; a file
/// name that long without a dot, dash or underscore is not one a person writes.
const BASE64_RUN: usize = 48;

/// Whether `value` looks like the content of a PEM file rather than a path.
pub fn looks_like_content(value: &str) -> bool {
    if value.contains("-----BEGIN") || value.contains("-----END") || value.contains('\n') {
        return true;
    }
    let mut run = 0;
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') {
            run += 1;
            if run >= BASE64_RUN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Refuses `value` at `path` when it looks like file content (without quoting it); returns
/// whether it did.
pub(super) fn refuse_content(
    doc: &Doc,
    path: &FieldPath,
    value: &str,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    if !looks_like_content(value) {
        return false;
    }
    errors.push(
        Diagnostic::new(
            doc.at(path),
            "this looks like the content of a key or certificate (PEM), not the path of a file; it is not shown here",
        )
        .field(path.to_string())
        .conceal()
        .help("put the content in a file beside the stack file, give its path here, and keep the file out of version control if it holds a private key"),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::looks_like_content;

    #[test]
    fn pem_and_base64_are_content_and_paths_are_not() {
        assert!(looks_like_content("-----BEGIN PRIVATE KEY-----"));
        assert!(looks_like_content(
            "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4oPcQYf9OpsV5N3Y"
        ));
        assert!(looks_like_content("a\nb"));
        assert!(!looks_like_content("certs/issuer.key"));
        assert!(!looks_like_content(
            "../secrets/linkerd-identity-issuer-2026.crt"
        ));
    }
}
