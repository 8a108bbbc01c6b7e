//! `Status` error answers, worded as the API server words them.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::resources::ResourceDef;

/// An API error answer: a `Status` object with its HTTP code (boxed: handlers return it on every path).
#[derive(Debug, Clone)]
pub(super) struct ApiError(Box<StatusParts>);

#[derive(Debug, Clone)]
struct StatusParts {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<Value>,
    retry_after: Option<u32>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(StatusParts {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }))
    }

    fn with_details(mut self, details: Value) -> ApiError {
        self.0.details = Some(details);
        self
    }

    pub(super) fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub(super) fn internal(message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
        .with_details(json!({"causes": [{"message": message}]}))
    }

    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// 404 for a path no resource serves.
    pub(super) fn no_such_path() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub(super) fn not_found(def: &ResourceDef, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.group_resource()),
        )
        .with_details(details(def, Some(name)))
    }

    pub(super) fn namespace_not_found(namespace: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("namespaces \"{namespace}\" not found"),
        )
        .with_details(json!({"name": namespace, "kind": "namespaces"}))
    }

    pub(super) fn already_exists(def: &ResourceDef, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.group_resource()),
        )
        .with_details(details(def, Some(name)))
    }

    /// 403 as RBAC words it.
    pub(super) fn forbidden(
        user: &str,
        verb: &str,
        def: &ResourceDef,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> ApiError {
        let subject = match name {
            Some(name) => format!("{} \"{name}\"", def.group_resource()),
            None => def.group_resource(),
        };
        let resource = match subresource {
            Some(sub) => format!("{}/{sub}", def.plural),
            None => def.plural.clone(),
        };
        let scope = match namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_string(),
        };
        ApiError::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
                def.group
            ),
        )
        .with_details(details(def, name))
    }

    pub(super) fn expired_continue() -> ApiError {
        ApiError::new(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        )
    }

    pub(super) fn invalid(def: &ResourceDef, name: &str, field: &str, why: &str) -> ApiError {
        ApiError::invalid_because(def, name, field, why, "FieldValueRequired")
    }

    /// A field holding a value its CRD's enum does not list, worded as the API server's field validation
    /// (k8s.io/apimachinery field.NotSupported).
    pub(super) fn unsupported_value(
        def: &ResourceDef,
        name: &str,
        field: &str,
        value: &str,
        supported: &[String],
    ) -> ApiError {
        let supported = supported
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let why = format!("Unsupported value: \"{value}\": supported values: {supported}");
        ApiError::invalid_because(def, name, field, &why, "FieldValueNotSupported")
    }

    fn invalid_because(
        def: &ResourceDef,
        name: &str,
        field: &str,
        why: &str,
        reason: &str,
    ) -> ApiError {
        ApiError::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {field}: {why}",
                qualified_kind(def)
            ),
        )
        .with_details(json!({
            "name": name, "group": def.group, "kind": def.kind,
            "causes": [{"reason": reason, "message": why, "field": field}],
        }))
    }

    pub(super) fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// A write to a lab serving a bundle: 405, naming what was refused and why, as kubectl prints the message.
    pub(super) fn read_only(verb: &str, def: &ResourceDef, name: Option<&str>) -> ApiError {
        let subject = match name {
            Some(name) => format!("{} \"{name}\"", def.group_resource()),
            None => def.group_resource(),
        };
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{verb} {subject} refused: this API serves a support bundle, read-only"),
        )
        .with_details(details(def, name))
    }

    /// An injected fault: 429 with Retry-After, or a 5xx.
    pub(super) fn burst(status: u16, retry_after: u32) -> ApiError {
        match status {
            429 => {
                let mut error = ApiError::new(
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                )
                .with_details(json!({"retryAfterSeconds": retry_after}));
                error.0.retry_after = Some(retry_after);
                error
            }
            503 => ApiError::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            504 => ApiError::new(
                504,
                "Timeout",
                "Timeout: request did not complete within requested timeout - context deadline exceeded",
            ),
            502 => ApiError::new(
                502,
                "InternalError",
                "the server is currently unable to handle the request (bad gateway)",
            ),
            _ => ApiError::new(
                500,
                "InternalError",
                "Internal error occurred: etcdserver: request timed out",
            )
            .with_details(json!({"causes": [{"message": "etcdserver: request timed out"}]})),
        }
    }

    pub(super) fn body(&self) -> Value {
        let parts = &self.0;
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": parts.message,
            "reason": parts.reason,
            "code": parts.code,
        });
        if let Some(details) = &parts.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// `Pod`, `Backup.velero.io`: how validation errors name a kind.
fn qualified_kind(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.kind.clone()
    } else {
        format!("{}.{}", def.kind, def.group)
    }
}

fn details(def: &ResourceDef, name: Option<&str>) -> Value {
    let mut details = json!({"group": def.group, "kind": def.plural});
    if let Some(name) = name {
        details["name"] = json!(name);
    }
    if def.group.is_empty() {
        details
            .as_object_mut()
            .expect("built as an object")
            .remove("group");
    }
    details
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (code, json_body(&self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.0.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON answer body as the API server writes it (compact, one trailing newline).
pub(super) fn json_body(value: &Value) -> String {
    let mut text = value.to_string();
    text.push('\n');
    text
}

/// 200 with a JSON body.
pub(super) fn json_response(code: StatusCode, value: &Value) -> Response {
    let mut response = (code, json_body(value)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
