//! The Kubernetes API of the lab: discovery, get / list / watch, create, delete, pods/log, with the
//! scenario's faults (401 without the token, forbidden verbs, latency, error bursts).
use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::{Value, json};

use super::kubelet;
use super::logs;
use super::openapi;
use super::resources::ResourceDef;
use super::selectors::{FieldSelector, LabelSelector};
use super::server::{RequestRecord, SharedLab, header_text};
use super::state::{ObjectKey, WatchEvent, random_hex};
use super::status::{ApiError, json_response};
use super::table;
use super::velero;

/// How a client wants list and get answers shaped (from its Accept header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Object,
    Table,
    PartialMetadata,
}

fn shape_of(headers: &HeaderMap) -> Shape {
    let accept = header_text(headers, header::ACCEPT);
    // The first acceptable type wins; kubectl lists Table first, then plain JSON as a fallback.
    let first = accept.split(',').next().unwrap_or_default();
    if first.contains("as=Table") {
        Shape::Table
    } else if first.contains("as=PartialObjectMetadata") {
        Shape::PartialMetadata
    } else {
        Shape::Object
    }
}

/// The axum entry point of the API listener.
pub(super) async fn handle(State(lab): State<SharedLab>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let accept = header_text(request.headers(), header::ACCEPT);
    let impersonation = impersonation(request.headers());
    let response = match answer(&lab, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    lab.record(RequestRecord {
        method: method.to_string(),
        path,
        query,
        accept,
        status: response.status().as_u16(),
        impersonation,
    });
    response
}

/// The `Impersonate-User` header, then every `Impersonate-Group` header, each as `name: value`.
fn impersonation(headers: &HeaderMap) -> Vec<String> {
    ["impersonate-user", "impersonate-group"]
        .iter()
        .flat_map(|name| {
            headers
                .get_all(*name)
                .iter()
                .map(move |value| format!("{name}: {}", value.to_str().unwrap_or("(not text)")))
        })
        .collect()
}

async fn answer(lab: &SharedLab, request: Request) -> Result<Response, ApiError> {
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|token| token.trim() == lab.token);
    if !authorized {
        return Err(ApiError::unauthorized());
    }
    if lab.faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(lab.faults.latency_ms)).await;
    }
    let path = request.uri().path().to_string();
    if let Some(slow) = lab
        .faults
        .slow_answers
        .iter()
        .find(|slow| slow.applies_to(request.method().as_str(), &path))
    {
        tokio::time::sleep(Duration::from_millis(slow.ms)).await;
    }
    check_bursts(lab, &path)?;
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        ["version"] => Ok(version(lab)),
        ["healthz"] | ["livez"] | ["readyz"] => Ok((StatusCode::OK, "ok").into_response()),
        ["api"] => Ok(json_response(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request
                        .headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1")}]}),
        )),
        ["openapi", "v3"] => Ok(json_response(
            StatusCode::OK,
            &openapi::index(&lab.registry, &lab.instance),
        )),
        ["openapi", "v3", rest @ ..] => openapi::group_version_document(
            &lab.registry,
            &rest.join("/"),
            &lab.version.git_version,
        )
        .map(|document| json_response(StatusCode::OK, &document))
        .ok_or_else(ApiError::no_such_path),
        ["apis"] => Ok(json_response(StatusCode::OK, &lab.registry.group_list())),
        ["api", "v1"] => Ok(json_response(
            StatusCode::OK,
            &lab.registry.resource_list("", "v1"),
        )),
        ["apis", group] => lab
            .registry
            .group_document(group)
            .map(|document| json_response(StatusCode::OK, &document))
            .ok_or_else(ApiError::no_such_path),
        ["apis", group, version] if lab.registry.serves_group_version(group, version) => Ok(
            json_response(StatusCode::OK, &lab.registry.resource_list(group, version)),
        ),
        ["api", "v1", rest @ ..] => resource_request(lab, request, "", "v1", rest, &params).await,
        ["apis", group, version, rest @ ..] => {
            let (group, version) = (group.to_string(), version.to_string());
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            resource_request(lab, request, &group, &version, &rest, &params).await
        }
        _ => Err(ApiError::no_such_path()),
    }
}

fn version(lab: &SharedLab) -> Response {
    let version = &lab.version;
    json_response(
        StatusCode::OK,
        &json!({
            "major": version.major,
            "minor": version.minor,
            "gitVersion": version.git_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23.8",
            "compiler": "gc",
            "platform": version.platform.clone().unwrap_or_else(|| "linux/amd64".to_string()),
        }),
    )
}

fn check_bursts(lab: &SharedLab, path: &str) -> Result<(), ApiError> {
    let Ok(mut counts) = lab.burst_counts.lock() else {
        return Ok(());
    };
    for (index, burst) in lab.faults.error_bursts.iter().enumerate() {
        if path.contains(&burst.path_contains) && counts[index] < burst.count {
            counts[index] += 1;
            return Err(ApiError::burst(burst.status, burst.retry_after_seconds));
        }
    }
    Ok(())
}

/// A request under a group version: `[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]`.
struct Target<'a> {
    def: &'a ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_target<'a>(
    lab: &'a SharedLab,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Target<'a>, ApiError> {
    let registry = &lab.registry;
    let namespaced_path = rest.len() >= 3
        && rest[0] == "namespaces"
        && registry
            .find(group, version, rest[2])
            .is_some_and(|def| def.namespaced);
    let (namespace, rest) = if namespaced_path {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(ApiError::no_such_path()),
    };
    let def = registry
        .find(group, version, plural)
        .ok_or_else(ApiError::no_such_path)?;
    if subresource
        .as_ref()
        .is_some_and(|sub| !def.subresources.contains(sub))
    {
        return Err(ApiError::no_such_path());
    }
    // A cluster-scoped resource under a namespace path, or a namespaced object named without its namespace.
    if (!def.namespaced && namespace.is_some())
        || (def.namespaced && namespace.is_none() && name.is_some())
    {
        return Err(ApiError::no_such_path());
    }
    Ok(Target {
        def,
        namespace,
        name,
        subresource,
    })
}

fn check_forbidden(lab: &SharedLab, verb: &str, target: &Target) -> Result<(), ApiError> {
    let group_resource = target.def.group_resource();
    let with_sub = target
        .subresource
        .as_ref()
        .map(|sub| format!("{group_resource}/{sub}"));
    let denied = lab.faults.forbidden.iter().any(|rule| {
        let resource_matches = match &with_sub {
            Some(full) => rule.resource == *full,
            None => rule.resource == group_resource,
        };
        resource_matches && (rule.verbs.is_empty() || rule.verbs.iter().any(|v| v == verb))
    });
    if denied {
        return Err(ApiError::forbidden(
            &lab.user,
            verb,
            target.def,
            target.subresource.as_deref(),
            target.namespace.as_deref(),
            target.name.as_deref(),
        ));
    }
    Ok(())
}

fn is_true(params: &HashMap<String, String>, key: &str) -> bool {
    params
        .get(key)
        .is_some_and(|value| value == "true" || value == "1")
}

async fn resource_request(
    lab: &SharedLab,
    request: Request,
    group: &str,
    version: &str,
    rest: &[&str],
    params: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let target = parse_target(lab, group, version, rest)?;
    let shape = shape_of(request.headers());
    let method = request.method().clone();
    let verb = match (&method, &target.name) {
        (&Method::GET, None) if is_true(params, "watch") => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, None) => "create",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::PUT, Some(_)) => "update",
        (&Method::PATCH, Some(_)) => "patch",
        _ => return Err(ApiError::method_not_allowed()),
    };
    if lab.read_only() && matches!(verb, "create" | "delete" | "update" | "patch") {
        return Err(ApiError::read_only(
            verb,
            target.def,
            target.name.as_deref(),
        ));
    }
    check_forbidden(lab, verb, &target)?;
    match verb {
        "list" => list(lab, &target, params, shape),
        "watch" => watch(lab, &target, params, shape),
        "get" if target.subresource.as_deref() == Some("log") => {
            logs::pod_log(
                lab,
                target.namespace.as_deref().unwrap_or_default(),
                target.name.as_deref().unwrap_or_default(),
                params,
            )
            .await
        }
        "get" => get(lab, &target, params, shape),
        "create" => {
            let body = axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024)
                .await
                .map_err(|error| {
                    ApiError::bad_request(format!("cannot read the request body: {error}"))
                })?;
            create(lab, &target, params, &body)
        }
        "delete" => {
            let body = axum::body::to_bytes(request.into_body(), 1024 * 1024)
                .await
                .map_err(|error| {
                    ApiError::bad_request(format!("cannot read the request body: {error}"))
                })?;
            delete(lab, &target, params, &body)
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The object as served at `def`'s version: apiVersion and kind set (list items of built-in kinds carry
/// neither, as the API server's typed lists do).
fn present(def: &ResourceDef, object: &Value, in_list: bool) -> Value {
    let mut object = object.clone();
    if let Some(fields) = object.as_object_mut() {
        if in_list && !def.is_custom() {
            fields.remove("apiVersion");
            fields.remove("kind");
        } else {
            fields.insert("apiVersion".to_string(), json!(def.api_version()));
            fields.insert("kind".to_string(), json!(def.kind));
        }
    }
    object
}

fn partial_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object["metadata"],
    })
}

struct Selectors {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selectors {
    fn parse(def: &ResourceDef, params: &HashMap<String, String>) -> Result<Selectors, ApiError> {
        let labels = LabelSelector::parse(
            params
                .get("labelSelector")
                .map(String::as_str)
                .unwrap_or(""),
        )
        .map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(
            params
                .get("fieldSelector")
                .map(String::as_str)
                .unwrap_or(""),
            &def.selectable_fields,
        )
        .map_err(ApiError::bad_request)?;
        Ok(Selectors { labels, fields })
    }

    fn matches(&self, object: &Value) -> bool {
        self.labels.matches(&object["metadata"]["labels"]) && self.fields.matches(object)
    }

    fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

fn list(
    lab: &SharedLab,
    target: &Target,
    params: &HashMap<String, String>,
    shape: Shape,
) -> Result<Response, ApiError> {
    let def = target.def;
    let resource = def.group_resource();
    let selectors = Selectors::parse(def, params)?;
    let limit: usize = match params.get("limit").map(String::as_str) {
        None | Some("") => 0,
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {text:?}")))?,
    };
    let mut state = lab
        .state
        .lock()
        .map_err(|_| ApiError::internal("the lab's state is unavailable"))?;
    let after: Option<ObjectKey> = match params.get("continue").filter(|token| !token.is_empty()) {
        None => None,
        Some(token) => Some({
            if lab.expire_this_continue() {
                state.compact();
            }
            state.resume_after(&resource, token).map_err(|stale| {
                if stale {
                    ApiError::expired_continue()
                } else {
                    ApiError::bad_request(format!(
                        "continue key is not valid: {token:?} is not a continue token"
                    ))
                }
            })?
        }),
    };
    let (page, remaining) = state.list_page(
        &resource,
        target.namespace.as_deref(),
        after.as_ref(),
        limit,
        |object| selectors.matches(object),
    );
    let mut metadata = json!({"resourceVersion": state.resource_version().to_string()});
    if limit > 0
        && remaining > 0
        && let Some((last, _)) = page.last()
    {
        metadata["continue"] = json!(state.continue_token(&resource, last));
        if selectors.is_empty() {
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    drop(state);
    let objects: Vec<Value> = page.into_iter().map(|(_, object)| object).collect();
    let body = match shape {
        Shape::Table => table::table(def, &objects, include_object(params), metadata),
        Shape::PartialMetadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
            "items": objects.iter().map(partial_metadata).collect::<Vec<_>>(),
        }),
        Shape::Object => json!({
            "kind": def.list_kind,
            "apiVersion": def.api_version(),
            "metadata": metadata,
            "items": objects.iter().map(|object| present(def, object, true)).collect::<Vec<_>>(),
        }),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn include_object(params: &HashMap<String, String>) -> &str {
    params
        .get("includeObject")
        .map(String::as_str)
        .unwrap_or("Metadata")
}

fn get(
    lab: &SharedLab,
    target: &Target,
    params: &HashMap<String, String>,
    shape: Shape,
) -> Result<Response, ApiError> {
    let def = target.def;
    let name = target.name.as_deref().unwrap_or_default();
    let object = {
        let state = lab
            .state
            .lock()
            .map_err(|_| ApiError::internal("the lab's state is unavailable"))?;
        state
            .get(
                &def.group_resource(),
                target.namespace.as_deref().unwrap_or_default(),
                name,
            )
            .cloned()
    }
    .ok_or_else(|| ApiError::not_found(def, name))?;
    let body = match shape {
        Shape::Table => {
            let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
            table::table(def, &[object], include_object(params), metadata)
        }
        Shape::PartialMetadata => partial_metadata(&object),
        Shape::Object => present(def, &object, false),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn watch(
    lab: &SharedLab,
    target: &Target,
    params: &HashMap<String, String>,
    shape: Shape,
) -> Result<Response, ApiError> {
    let def = target.def.clone();
    let resource = def.group_resource();
    let selectors = Selectors::parse(&def, params)?;
    let namespace = target.namespace.clone();
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(1800);
    let send_initial = is_true(params, "sendInitialEvents");
    let from_start = send_initial
        || params
            .get("resourceVersion")
            .is_none_or(|rv| rv.is_empty() || rv == "0");
    let (initial, receiver, version) = {
        let state = lab
            .state
            .lock()
            .map_err(|_| ApiError::internal("the lab's state is unavailable"))?;
        let initial: Vec<Value> = if from_start {
            state
                .list(&resource, namespace.as_deref(), None)
                .into_iter()
                .map(|(_, object)| object)
                .filter(|object| selectors.matches(object))
                .collect()
        } else {
            Vec::new()
        };
        (initial, state.subscribe(), state.resource_version())
    };
    let include = include_object(params).to_string();
    let encode = move |event_type: &str, object: &Value| -> bytes::Bytes {
        let object = match shape {
            Shape::Table => table::table(&def, std::slice::from_ref(object), &include, json!({})),
            Shape::PartialMetadata => partial_metadata(object),
            Shape::Object => present(&def, object, false),
        };
        let mut line = json!({"type": event_type, "object": object}).to_string();
        line.push('\n');
        bytes::Bytes::from(line)
    };
    let mut first: Vec<bytes::Bytes> = initial
        .iter()
        .map(|object| encode("ADDED", object))
        .collect();
    if send_initial {
        let bookmark = json!({
            "type": "BOOKMARK",
            "object": {"kind": target.def.kind, "apiVersion": target.def.api_version(),
                       "metadata": {"resourceVersion": version.to_string(),
                                    "annotations": {"k8s.io/initial-events-end": "true"}}},
        });
        first.push(bytes::Bytes::from(format!("{bookmark}\n")));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let shutdown = lab.shutdown.clone();
    let filter_namespace = namespace.clone();
    let live =
        futures::stream::unfold((receiver, shutdown), move |(mut receiver, mut shutdown)| {
            let resource = resource.clone();
            let filter_namespace = filter_namespace.clone();
            async move {
                loop {
                    let received = tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => return None,
                        _ = shutdown.changed() => return None,
                        received = receiver.recv() => received,
                    };
                    // A watcher that fell behind is closed; the client lists again, as after a real 410.
                    let event: std::sync::Arc<WatchEvent> = received.ok()?;
                    if event.resource != resource {
                        continue;
                    }
                    let event_namespace = event.object["metadata"]["namespace"].as_str();
                    if filter_namespace
                        .as_deref()
                        .is_some_and(|ns| event_namespace != Some(ns))
                    {
                        continue;
                    }
                    return Some((event, (receiver, shutdown)));
                }
            }
        });
    let selectors_live = selectors;
    let encode_live = encode.clone();
    let live = live.filter_map(move |event| {
        let keep = selectors_live.matches(&event.object);
        let encoded = keep.then(|| encode_live(event.event_type, &event.object));
        async move { encoded.map(Ok::<_, std::io::Error>) }
    });
    let stream = futures::stream::iter(first.into_iter().map(Ok::<_, std::io::Error>)).chain(live);
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

const GENERATED_NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn generated_suffix() -> String {
    random_hex(5)
        .bytes()
        .map(|byte| GENERATED_NAME_ALPHABET[byte as usize % GENERATED_NAME_ALPHABET.len()] as char)
        .collect()
}

fn create(
    lab: &SharedLab,
    target: &Target,
    params: &HashMap<String, String>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let def = target.def;
    let mut object: Value = serde_json::from_slice(body)
        .or_else(|_| serde_saphyr::from_slice(body))
        .map_err(|error| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded: {error}"
            ))
        })?;
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request is not an object",
        ));
    }
    if let Some(api_version) = object["apiVersion"].as_str()
        && api_version != def.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            def.api_version()
        )));
    }
    object["apiVersion"] = json!(def.api_version());
    object["kind"] = json!(def.kind);
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    if let Some(namespace) = &target.namespace {
        match object["metadata"]["namespace"].as_str() {
            Some(given) if !given.is_empty() && given != namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => object["metadata"]["namespace"] = json!(namespace),
        }
    }
    let name = match object["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
    {
        Some(name) => name.to_string(),
        None => match object["metadata"]["generateName"]
            .as_str()
            .filter(|n| !n.is_empty())
        {
            Some(prefix) => format!("{prefix}{}", generated_suffix()),
            None => {
                return Err(ApiError::invalid(
                    def,
                    "",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ));
            }
        },
    };
    object["metadata"]["name"] = json!(name);
    let dry_run = params.get("dryRun").is_some_and(|mode| mode == "All");
    let mut state = lab
        .state
        .lock()
        .map_err(|_| ApiError::internal("the lab's state is unavailable"))?;
    if let Some(crd) = state.get(
        "customresourcedefinitions.apiextensions.k8s.io",
        "",
        &def.group_resource(),
    ) && let Some(schema) = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == def.version.as_str())
        .map(|v| &v["schema"]["openAPIV3Schema"])
        && let Some((field, value, supported)) = enum_violation(schema, &object, "")
    {
        return Err(ApiError::unsupported_value(
            def, &name, &field, &value, &supported,
        ));
    }
    if let Some(namespace) = &target.namespace
        && state.get("namespaces", "", namespace).is_none()
    {
        return Err(ApiError::namespace_not_found(namespace));
    }
    if dry_run {
        if state
            .get(
                &def.group_resource(),
                target.namespace.as_deref().unwrap_or_default(),
                &name,
            )
            .is_some()
        {
            return Err(ApiError::already_exists(def, &name));
        }
        return Ok(json_response(StatusCode::CREATED, &object));
    }
    let stored = state
        .create(&def.group_resource(), object, &lab.now_text())
        .map_err(|_| ApiError::already_exists(def, &name))?;
    drop(state);
    if def.group == "velero.io" && def.plural == "downloadrequests" {
        velero::on_download_request_created(
            lab.clone(),
            target.namespace.clone().unwrap_or_default(),
            name.clone(),
        );
    }
    if def.group == "batch" && def.plural == "jobs" {
        kubelet::on_job_created(lab.clone(), stored.clone());
    }
    Ok(json_response(
        StatusCode::CREATED,
        &present(def, &stored, false),
    ))
}

/// The first string the CRD's schema restricts to an enum that is not in it, as (field path, value, the
/// enum): the one structural check the lab makes, because which kinds a Velero release's CRD lists is what
/// a client must cope with.
fn enum_violation(
    schema: &Value,
    value: &Value,
    path: &str,
) -> Option<(String, String, Vec<String>)> {
    if let (Some(allowed), Some(text)) = (schema["enum"].as_array(), value.as_str())
        && !allowed.iter().any(|a| a.as_str() == Some(text))
    {
        let allowed = allowed
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        return Some((path.to_string(), text.to_string(), allowed));
    }
    if let (Some(properties), Some(fields)) = (schema["properties"].as_object(), value.as_object())
    {
        for (key, field) in fields {
            if let Some(field_schema) = properties.get(key) {
                let field_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if let Some(found) = enum_violation(field_schema, field, &field_path) {
                    return Some(found);
                }
            }
        }
    }
    if let Some(entries) = value.as_array() {
        for (index, entry) in entries.iter().enumerate() {
            if let Some(found) =
                enum_violation(&schema["items"], entry, &format!("{path}[{index}]"))
            {
                return Some(found);
            }
        }
    }
    None
}

/// DELETE of one object; for a Job, its pods too when the client asks for Background or Foreground
/// propagation (query parameter or DeleteOptions body), as the garbage collector would.
fn delete(
    lab: &SharedLab,
    target: &Target,
    params: &HashMap<String, String>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let def = target.def;
    let name = target.name.as_deref().unwrap_or_default();
    let removed = lab
        .state
        .lock()
        .map_err(|_| ApiError::internal("the lab's state is unavailable"))?
        .delete(
            &def.group_resource(),
            target.namespace.as_deref().unwrap_or_default(),
            name,
        )
        .ok_or_else(|| ApiError::not_found(def, name))?;
    let options: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let propagation = params
        .get("propagationPolicy")
        .map(String::as_str)
        .or(options["propagationPolicy"].as_str());
    if def.group == "batch"
        && def.plural == "jobs"
        && matches!(propagation, Some("Background" | "Foreground"))
    {
        kubelet::delete_owned_pods(lab, &removed);
    }
    Ok(json_response(
        StatusCode::OK,
        &present(def, &removed, false),
    ))
}
