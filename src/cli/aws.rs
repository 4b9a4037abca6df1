//! What the commands that reach EC2 take: whether obsboot manages the security group, which
//! instance is the control-plane node's, and where `verify` sends its probes.

use std::time::Duration;

use clap::Args;

use crate::aws::{Connect, Settings};
use crate::stack::{Cidr, Platform};
use crate::verify::probe::parse_base;

/// The security group.
#[derive(Debug, Args)]
pub struct SecurityGroupArgs {
    /// Leave security groups alone (a cluster not on EC2, or a firewall someone else
    /// manages); the ports to open are then reported instead. Same as
    /// `aws.skipSecurityGroups: true` in cluster.yaml.
    #[arg(long)]
    pub skip_security_groups: bool,
    /// The control-plane node's EC2 instance, instead of finding it by the node's
    /// providerID or private address.
    #[arg(long, value_name = "ID", value_parser = instance_id)]
    pub instance_id: Option<String>,
}

impl SecurityGroupArgs {
    /// How to find the group, or `None` when the user manages it.
    pub fn settings(&self, platform: &Platform, ec2: Connect) -> Option<Settings> {
        if self.skip_security_groups || platform.cluster.skip_security_groups {
            return None;
        }
        Some(Settings::of(
            &platform.cluster,
            self.instance_id.clone(),
            ec2,
        ))
    }
}

fn instance_id(text: &str) -> Result<String, String> {
    let hex = text.strip_prefix("i-").unwrap_or_default();
    if (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "\"{text}\" is not an EC2 instance id (i- and 8 or 17 hexadecimal digits, e.g. i-0123456789abcdef0)"
        ))
    }
}

/// Who may connect, from the command line.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Allow this source network to reach the exposed ports (repeatable), in place of
    /// `ingress.sources` in cluster.yaml; exposures that list their own `sources` keep them.
    /// Your own address as a /32 is the narrowest: --allow-from 203.0.113.7/32.
    #[arg(long, value_name = "CIDR", value_parser = cidr)]
    pub allow_from: Vec<Cidr>,
}

impl SourceArgs {
    /// Applies `--allow-from` to `platform`.
    pub fn apply(&self, platform: &mut Platform) -> Result<(), crate::stack::StackError> {
        if self.allow_from.is_empty() {
            return Ok(());
        }
        platform.allow_from(&self.allow_from)
    }
}

fn cidr(text: &str) -> Result<Cidr, String> {
    Cidr::parse(text)
}

/// How endpoints are probed.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Probe this host instead of the control-plane node's public address, e.g.
    /// http://10.0.1.74 from inside the VPC; each endpoint is probed on its host port.
    #[arg(long, value_name = "URL", value_parser = url_base)]
    pub url_base: Option<String>,
    /// How long each probe may take to connect, and then to be answered.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = super::cluster::timeout)]
    pub probe_timeout: Duration,
}

/// The host of an `http://HOST` URL.
fn url_base(text: &str) -> Result<String, String> {
    let (host, port) = parse_base(text).map_err(|err| err.to_string())?;
    if port.is_some() {
        return Err(format!(
            "give \"{text}\" without a port: each endpoint is probed on its own host port"
        ));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_and_url_bases() {
        assert!(instance_id("i-0123456789abcdef0").is_ok());
        assert!(instance_id("i-12345678").is_ok());
        assert!(instance_id("i-xyz").is_err());
        assert!(instance_id("sg-12345678").is_err());
        assert_eq!(url_base("http://127.0.0.1"), Ok("127.0.0.1".into()));
        assert!(
            url_base("http://127.0.0.1:30080")
                .unwrap_err()
                .contains("without a port")
        );
        assert!(url_base("https://example.com").is_err());
    }
}
