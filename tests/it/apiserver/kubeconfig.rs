//! A kubeconfig for the simulated cluster, as `kubectl` or `obsboot` would read it.

/// The kubeconfig text: cluster, user and context all named `sim`, bearer-token auth.
pub fn render(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: {server}
users:
- name: sim
  user:
    token: {token}
contexts:
- name: sim
  context:
    cluster: sim
    user: sim
    namespace: default
current-context: sim
preferences: {{}}
"
    )
}
