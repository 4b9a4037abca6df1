//! What the server refuses before storing: bad names, missing or terminating namespaces,
//! bodies that disagree with the URL.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{block_on, client, namespace, raw, status_of};
use crate::apiserver::ApiServer;

#[test]
fn a_namespaced_object_in_a_missing_namespace_is_not_found() {
    let server = ApiServer::start();
    block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "nowhere");
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let refused = api
            .patch("c", &PatchParams::apply("obsboot"), &Patch::Apply(&object))
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {}, "status": "Failure", "message": "namespaces \"nowhere\" not found", "reason": "NotFound",
                "details": {"name": "nowhere", "kind": "namespaces"}, "code": 404,
            })
        );
    });
}

#[test]
fn invalid_names_are_422_with_the_field() {
    let server = ApiServer::start();
    block_on(async {
        let client = client(&server).await;
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let object =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}});
        let refused = config_maps
            .patch(
                "Bad_Name",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(&object),
            )
            .await
            .unwrap_err();
        let message = "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {}, "status": "Failure", "reason": "Invalid", "code": 422,
                "message": format!("ConfigMap \"Bad_Name\" is invalid: metadata.name: {message}"),
                "details": {"name": "Bad_Name", "kind": "ConfigMap", "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "metadata.name"}]},
            })
        );
        let services: Api<Service> = Api::namespaced(client.clone(), "default");
        let service: Service = serde_json::from_value(
            json!({"metadata": {"name": "9lives"}, "spec": {"ports": [{"port": 80}]}}),
        )
        .unwrap();
        let refused = status_of(
            services
                .create(&PostParams::default(), &service)
                .await
                .unwrap_err(),
        );
        assert_eq!(refused["details"]["causes"][0]["field"], "metadata.name");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("a DNS-1035 label must consist of")
        );
        let namespaces: Api<Namespace> = Api::all(client);
        let refused = status_of(
            namespaces
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(namespace("a.b")).unwrap(),
                )
                .await
                .unwrap_err(),
        );
        assert!(refused["message"].as_str().unwrap().starts_with("Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label"));
    });
}

#[test]
fn a_body_of_another_kind_than_the_url_is_refused() {
    let server = ApiServer::start();
    let refused = raw(
        &server,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=obsboot",
        "application/apply-patch+yaml",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: web\n",
    );
    assert_eq!(refused.code, 422);
    assert_eq!(
        refused.json()["message"],
        "DaemonSet.apps \"web\" is invalid: kind: Invalid value: \"DaemonSet\": must be Deployment"
    );
    let created = raw(
        &server,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        r#"{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"c"}}"#,
    );
    assert_eq!(
        (created.code, created.json()["message"].as_str()),
        (
            400,
            Some("the API version in the data (v2) does not match the expected API version (v1)")
        )
    );
    let unauthenticated = {
        let address = server.url().trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        std::io::Write::write_all(
            &mut stream,
            b"GET /api/v1/namespaces HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stream, &mut text).unwrap();
        text
    };
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
    assert!(unauthenticated.contains(r#""reason":"Unauthorized""#));
    let unknown = raw(
        &server,
        "GET",
        "/apis/apps/v1/namespaces/default/gadgets",
        "application/json",
        "",
    );
    assert_eq!(
        (unknown.code, unknown.json()["message"].as_str()),
        (
            404,
            Some("the server could not find the requested resource")
        )
    );
    let custom = raw(
        &server,
        "GET",
        "/apis/example.com/v1/namespaces/default/gadgets",
        "application/json",
        "",
    );
    assert_eq!(
        (custom.code, custom.body.as_str()),
        (404, "404 page not found\n")
    );
}

#[test]
fn writes_into_a_terminating_namespace_are_forbidden() {
    let server = ApiServer::start();
    server.apply_as("obsboot", namespace("old"));
    server.apply_as("obsboot", json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "namespace": "old", "finalizers": ["example.com/hold"]},
    }));
    block_on(async {
        let client = client(&server).await;
        Api::<Namespace>::all(client.clone())
            .delete("old", &DeleteParams::default())
            .await
            .unwrap();
        let again = Api::<Namespace>::all(client.clone())
            .delete("old", &DeleteParams::default())
            .await
            .unwrap_err();
        assert_eq!(
            status_of(again),
            json!({
                "metadata": {}, "status": "Failure", "reason": "Conflict", "code": 409,
                "message": "Operation cannot be fulfilled on namespaces \"old\": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.",
                "details": {"name": "old", "kind": "namespaces"},
            })
        );
        let api: Api<ConfigMap> = Api::namespaced(client, "old");
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}});
        let refused = api
            .patch(
                "new",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(&object),
            )
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
                "message": "configmaps \"new\" is forbidden: unable to create new content in namespace old because it is being terminated",
                "details": {"name": "new", "kind": "configmaps", "causes": [{
                    "reason": "NamespaceTerminating", "message": "namespace old is being terminated", "field": "metadata.namespace",
                }]},
            })
        );
    });
}

#[test]
fn fields_that_cannot_change_are_refused_on_update() {
    let server = ApiServer::start();
    server.apply_as("obsboot", super::deployment("default", "web", 1));
    let mut moved = super::deployment("default", "web", 1);
    moved["spec"]["selector"]["matchLabels"] = json!({"app": "web", "tier": "front"});
    moved["spec"]["template"]["metadata"]["labels"]["tier"] = "front".into();
    let refused = server.try_apply_as("obsboot", moved, false).unwrap_err();
    assert_eq!(refused["code"], 422);
    assert_eq!(
        refused["message"],
        "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"front\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    );
    assert_eq!(refused["details"]["causes"][0]["field"], "spec.selector");

    let service = |ip: Option<&str>| {
        let mut s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}});
        if let Some(ip) = ip {
            s["spec"]["clusterIP"] = ip.into();
        }
        s
    };
    let created = server.apply_as("obsboot", service(None));
    assert_eq!(created["spec"]["clusterIP"], "10.96.0.11");
    let refused = server
        .try_apply_as("obsboot", service(Some("10.96.0.99")), false)
        .unwrap_err();
    assert_eq!(
        refused["message"],
        "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.99\"}: may not change once set"
    );
}

#[test]
fn a_denied_verb_is_forbidden_and_access_reviews_say_so() {
    use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    let server = ApiServer::start();
    server.deny(
        "create",
        "apiextensions.k8s.io",
        "customresourcedefinitions",
    );
    block_on(async {
        let client = client(&server).await;
        let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
        let ask = |verb: &str, group: &str, resource: &str| -> SelfSubjectAccessReview {
            serde_json::from_value(json!({"spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}}})).unwrap()
        };
        let answer = reviews
            .create(
                &PostParams::default(),
                &ask(
                    "create",
                    "apiextensions.k8s.io",
                    "customresourcedefinitions",
                ),
            )
            .await
            .unwrap();
        assert!(!answer.status.unwrap().allowed);
        let answer = reviews
            .create(&PostParams::default(), &ask("create", "", "configmaps"))
            .await
            .unwrap();
        assert!(answer.status.unwrap().allowed);

        let crds: Api<CustomResourceDefinition> = Api::all(client);
        let crd: CustomResourceDefinition = serde_json::from_value(super::widget_crd()).unwrap();
        let refused = crds
            .patch(
                "widgets.example.com",
                &PatchParams::apply("obsboot"),
                &Patch::Apply(&crd),
            )
            .await
            .unwrap_err();
        assert_eq!(
            status_of(refused),
            json!({
                "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
                "message": "customresourcedefinitions.apiextensions.k8s.io \"widgets.example.com\" is forbidden: User \"kubernetes-admin\" cannot create resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at the cluster scope",
                "details": {"name": "widgets.example.com", "group": "apiextensions.k8s.io", "kind": "customresourcedefinitions"},
            })
        );
    });
    assert!(
        server
            .get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com"
            )
            .is_none()
    );
}
