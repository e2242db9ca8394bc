//! API errors: Kubernetes wording, kubectl's rendering, and the round trip through gRPC status.

use skiff_api::error::{Access, ApiError, Cause, Reason};
use tonic::Code;

#[test]
fn kubernetes_wording() {
    assert_eq!(
        ApiError::not_found("pods", "x").message,
        "pods \"x\" not found"
    );
    assert_eq!(
        ApiError::already_exists("replicasets.apps", "crane").message,
        "replicasets.apps \"crane\" already exists"
    );
    assert_eq!(
        ApiError::conflict_modified("pods", "x").message,
        "Operation cannot be fulfilled on pods \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let forbidden = ApiError::forbidden(&Access {
        user: "bob",
        verb: "create",
        resource: "pods",
        group: "",
        namespace: "default",
        name: "",
    });
    assert_eq!(
        forbidden.message,
        "pods is forbidden: User \"bob\" cannot create resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let node = ApiError::forbidden(&Access {
        user: "system:node:n1",
        verb: "update",
        resource: "nodes",
        name: "n2",
        ..Access::default()
    });
    assert_eq!(
        node.message,
        "nodes \"n2\" is forbidden: User \"system:node:n1\" cannot update resource \"nodes\" in API group \"\" at the cluster scope"
    );
    assert_eq!(forbidden.code, 403);
    assert_eq!(
        ApiError::expired("too old resource version: 5 (90)").code,
        410
    );
}

#[test]
fn invalid_joins_causes_like_kubernetes_and_prints_like_kubectl() {
    let one = ApiError::invalid(
        "Pod",
        "x",
        vec![Cause::required("spec.containers[0].image", "")],
    );
    assert_eq!(
        one.message,
        "Pod \"x\" is invalid: spec.containers[0].image: Required value"
    );
    assert_eq!(one.code, 422);
    assert_eq!(
        one.to_kubectl_string(),
        "The Pod \"x\" is invalid: spec.containers[0].image: Required value"
    );

    let two = ApiError::invalid(
        "Pod",
        "x",
        vec![
            Cause::required("spec.containers[0].image", ""),
            Cause::not_supported(
                "spec.restartPolicy",
                "Sometimes",
                &["Always", "OnFailure", "Never"],
            ),
        ],
    );
    assert_eq!(
        two.message,
        "Pod \"x\" is invalid: [spec.containers[0].image: Required value, spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"]"
    );
    assert_eq!(
        two.to_kubectl_string(),
        "The Pod \"x\" is invalid: \n* spec.containers[0].image: Required value\n* spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
    );
}

#[test]
fn kubectl_strings() {
    assert_eq!(
        ApiError::not_found("pods", "x").to_kubectl_string(),
        "Error from server (NotFound): pods \"x\" not found"
    );
    assert_eq!(
        ApiError::already_exists("pods", "x").to_kubectl_string(),
        "Error from server (AlreadyExists): pods \"x\" already exists"
    );
    assert_eq!(
        ApiError::unauthorized("Unauthorized").to_kubectl_string(),
        "error: You must be logged in to the server (Unauthorized)"
    );
    assert_eq!(
        ApiError::internal("store unreachable").to_kubectl_string(),
        "Error from server (InternalError): Internal error occurred: store unreachable"
    );
}

#[test]
fn grpc_round_trip_keeps_everything() {
    let errors = vec![
        ApiError::not_found("jobs.batch", "pi"),
        ApiError::already_exists("pods", "x"),
        ApiError::conflict_modified("pods", "x"),
        ApiError::invalid(
            "Pod",
            "x",
            vec![Cause::invalid(
                "spec.containers[0].ports[0].containerPort",
                70000,
                "must be between 1 and 65535, inclusive",
            )],
        ),
        ApiError::forbidden(&Access {
            user: "viewer",
            verb: "delete",
            resource: "pods",
            namespace: "default",
            name: "x",
            ..Access::default()
        }),
        ApiError::unauthorized("Unauthorized"),
        ApiError::bad_request("bad"),
        ApiError::too_large("Request entity too large: limit is 1572864"),
        ApiError::expired("too old resource version: 5 (90)"),
        ApiError::timeout("timed out"),
        ApiError::internal("boom"),
        ApiError::unavailable("no store leader"),
        ApiError::method_not_allowed("leases have no status subresource"),
        ApiError::new(
            Reason::UnsupportedMediaType,
            "server-side apply is not supported",
        ),
        ApiError::new(Reason::NotAcceptable, "only application/json is served"),
    ];
    let reasons: Vec<Reason> = errors.iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        Reason::all().collect::<Vec<_>>(),
        "every reason is exercised"
    );
    for err in errors {
        let status = err.to_status();
        assert_eq!(status.code(), err.reason.grpc_code());
        assert_eq!(status.message(), err.message);
        let json: serde_json::Value = serde_json::from_slice(status.details()).unwrap();
        assert_eq!(json["kind"], "Status");
        assert_eq!(json["status"], "Failure");
        assert_eq!(json["reason"], err.reason.to_string());
        assert_eq!(json["code"], err.code);
        assert_eq!(ApiError::from_status(&status), err);
    }
}

#[test]
fn status_json_has_the_kubernetes_shape() {
    let err = ApiError::invalid(
        "Pod",
        "x",
        vec![Cause::required("spec.containers[0].image", "")],
    );
    assert_eq!(
        err.to_status_json(),
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "Pod \"x\" is invalid: spec.containers[0].image: Required value",
            "reason": "Invalid",
            "details": {"name": "x", "kind": "Pod", "causes": [
                {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
            ]},
            "code": 422
        })
    );
}

#[test]
fn statuses_without_details_fall_back_on_the_code() {
    let table = [
        (Code::Unavailable, Reason::ServiceUnavailable),
        (Code::NotFound, Reason::NotFound),
        (Code::Aborted, Reason::Conflict),
        (Code::DeadlineExceeded, Reason::Timeout),
        (Code::Unauthenticated, Reason::Unauthorized),
        (Code::Unknown, Reason::InternalError),
    ];
    for (code, reason) in table {
        let err = ApiError::from_status(&tonic::Status::new(code, "transport error"));
        assert_eq!(err.reason, reason, "{code:?}");
        assert_eq!(err.message, "transport error");
        assert_eq!(err.code, reason.http_code());
    }
    let empty = ApiError::from_status(&tonic::Status::new(Code::Unavailable, ""));
    assert_eq!(empty.message, Code::Unavailable.description());
}
