//! Grafana's administrator credentials, read from the Secret bootstrap keeps in the cluster,
//! for the checks that ask Grafana's API. The password stays in a [`SecretString`]: it goes
//! only into a sensitive `Authorization` header, and [`Credentials::scrub`] masks it in any
//! text quoted from an answer, so that no result, error or log line can carry it.

use std::fmt;

use base64::Engine as _;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::k8s::Cluster;
use crate::stack::{SecretKind, Spec, Stack};

/// The key of the password in the Secret (as the Deployment mounts it).
const PASSWORD_KEY: &str = "admin-password";

/// What replaces the password wherever an answer quotes it.
const MASK: &str = "(password withheld)";

/// A login name and its password. `Debug` shows the login name only.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Wraps a login name and its password.
    pub fn new(user: &str, password: SecretString) -> Self {
        Self {
            user: user.to_owned(),
            password,
        }
    }

    /// The login name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `Authorization: Basic ...`, marked sensitive.
    pub fn header(&self) -> HeaderValue {
        let pair = format!("{}:{}", self.user, self.password.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        value.set_sensitive(true);
        value
    }

    /// `text` with the password, and the encoded login and password, masked.
    pub fn scrub(&self, text: &str) -> String {
        let password = self.password.expose_secret();
        if password.is_empty() {
            return text.to_owned();
        }
        let pair = format!("{}:{password}", self.user);
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        text.replace(&encoded, MASK).replace(password, MASK)
    }
}

/// Why the credentials cannot be had; messages are safe to print.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The stack is not Grafana's, or names no administrator Secret.
    #[error("the {stack} stack names no Grafana administrator Secret")]
    NoSecret {
        /// The stack.
        stack: &'static str,
    },
    /// There is no cluster to ask.
    #[error("the cluster cannot be asked for the administrator's password ({object})")]
    NoCluster {
        /// `Secret namespace/name`.
        object: String,
    },
    /// The Secret does not exist.
    #[error("{object} does not exist; run `obsboot bootstrap`")]
    Missing {
        /// `Secret namespace/name`.
        object: String,
    },
    /// The Secret lacks the password's key.
    #[error("{object} has no key \"{PASSWORD_KEY}\"")]
    NoKey {
        /// `Secret namespace/name`.
        object: String,
    },
    /// Reading the Secret failed (the cluster's error withholds its contents).
    #[error(transparent)]
    Read(#[from] crate::k8s::K8sError),
}

/// Reads the credentials of the Grafana `stack` from its Secret.
pub async fn read(
    cluster: Option<&Cluster>,
    stack: &Stack,
) -> Result<Credentials, CredentialsError> {
    let no_secret = || CredentialsError::NoSecret {
        stack: stack.name(),
    };
    let Spec::Grafana(grafana) = &stack.spec else {
        return Err(no_secret());
    };
    let namespace = stack.namespace.value.as_str();
    let secret = stack
        .spec
        .secrets(namespace)
        .into_iter()
        .find(|s| s.kind == SecretKind::GrafanaAdmin)
        .ok_or_else(no_secret)?;
    let object = format!("Secret {namespace}/{}", secret.name);
    let Some(cluster) = cluster else {
        return Err(CredentialsError::NoCluster { object });
    };
    let data = crate::bootstrap::secrets::read(cluster, &secret)
        .await?
        .ok_or_else(|| CredentialsError::Missing {
            object: object.clone(),
        })?;
    let password = data
        .get(PASSWORD_KEY)
        .ok_or(CredentialsError::NoKey { object })?;
    Ok(Credentials::new(
        grafana.admin_user.as_str(),
        SecretString::from(password.to_owned()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials::new("admin", SecretString::from("s3cr3t-Pa55".to_owned()))
    }

    #[test]
    fn the_header_is_basic_auth_and_sensitive() {
        let header = credentials().header();
        assert!(header.is_sensitive());
        // base64("admin:s3cr3t-Pa55")
        assert_eq!(header.to_str().unwrap(), "Basic YWRtaW46czNjcjN0LVBhNTU=");
    }

    #[test]
    fn debug_and_scrub_never_show_the_password() {
        let credentials = credentials();
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("admin"), "{shown}");
        let echoed = "bad login admin/s3cr3t-Pa55 (Authorization: Basic YWRtaW46czNjcjN0LVBhNTU=)";
        let scrubbed = credentials.scrub(echoed);
        assert_eq!(
            scrubbed,
            "bad login admin/(password withheld) (Authorization: Basic (password withheld))"
        );
    }
}
