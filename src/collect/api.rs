//! Raw access to the Kubernetes API for the collectors: JSON as the server sent it (objects keep every
//! field, whatever the Velero version), bounded concurrency, retries of 429/5xx with bounded backoff,
//! paged lists, and failures carrying the HTTP status and the API's Status message.
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bundle::CollectorError;

/// At most this many API requests (log streams included) in flight.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;
/// Items asked for per list page.
pub(crate) const PAGE_SIZE: usize = 500;
/// A list whose continue token expired (410 Gone) is restarted at most this many times.
const MAX_LIST_RESTARTS: usize = 3;
/// Attempts of one request when the server answers 429 / 5xx or the connection fails.
const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A request (not a stream) taking longer than this is given up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Error bodies are read up to this size: they are Status objects or short texts.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// A list page larger than this goes to an unnamed temporary file as it arrives, and is read from there: a
/// page of 500 CustomResourceDefinitions with large schemas can be hundreds of megabytes.
const PAGE_IN_MEMORY: usize = 8 * 1024 * 1024;

/// The answer's shape asked of the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accept {
    /// The object as stored.
    Json,
    /// Only the object's metadata (`PartialObjectMetadata`): for secrets, whose data must never be sent.
    PartialMetadata,
}

impl Accept {
    fn header(self) -> &'static str {
        match self {
            Accept::Json => "application/json",
            Accept::PartialMetadata => {
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
            }
        }
    }
}

/// Why a request failed: what the manifest records.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    /// The HTTP status, when the API server answered at all.
    pub status: Option<u16>,
    /// The API server's message, or the transport error.
    pub message: String,
}

impl ApiFailure {
    pub(super) fn new(status: Option<u16>, message: impl Into<String>) -> Self {
        ApiFailure {
            status,
            message: message.into(),
        }
    }

    /// A 404: the resource or its API group is not served (Velero not installed, an old version).
    pub(crate) fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// A 401 or 403: the credentials lack the permission (RBAC), not a fault of the cluster.
    pub(crate) fn is_forbidden(&self) -> bool {
        self.status == Some(401) || self.status == Some(403)
    }

    /// The manifest's record of this failure.
    pub fn record(
        &self,
        source: &str,
        target: impl Into<String>,
        namespace: Option<&str>,
    ) -> CollectorError {
        CollectorError {
            source: source.to_string(),
            target: Some(target.into()),
            namespace: namespace.map(str::to_string),
            status: self.status,
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "{status}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The message of an error answer: the Status object's `message` when the body is one, else the text.
pub(super) fn failure_from_body(status: StatusCode, body: &[u8]) -> ApiFailure {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            let text = text.trim();
            if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("error without a message")
                    .to_string()
            } else {
                text.chars().take(2000).collect()
            }
        });
    ApiFailure::new(Some(status.as_u16()), message)
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Delay before attempt `attempt + 1`: the server's Retry-After when it gave one, else doubling from
/// `first`, capped.
pub(super) fn backoff(first: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = first.saturating_mul(1u32 << attempt.min(16));
    retry_after.unwrap_or(doubled).min(MAX_BACKOFF)
}

fn retry_after(response: &Response<Body>) -> Option<Duration> {
    response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A streamed answer (a pod log): its body and the concurrency permit it holds until dropped.
pub(super) struct ApiStream {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl ApiStream {
    /// The next chunk; `None` at the end.
    pub(super) async fn next_chunk(&mut self) -> Option<Result<Bytes, String>> {
        loop {
            match self.body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    // Trailers carry no log data.
                    Err(_) => continue,
                },
                Err(e) => return Some(Err(e.to_string())),
            }
        }
    }
}

#[derive(Clone)]
pub(super) struct ApiClient {
    client: kube::Client,
    permits: Arc<Semaphore>,
    first_backoff: Duration,
}

impl ApiClient {
    pub(super) fn new(client: kube::Client, concurrency: usize) -> Self {
        ApiClient {
            client,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            first_backoff: FIRST_BACKOFF,
        }
    }

    /// Retries sooner (tests).
    #[cfg(test)]
    fn with_first_backoff(mut self, first: Duration) -> Self {
        self.first_backoff = first;
        self
    }

    /// Sends a request, retrying 429/5xx and connection failures; returns a successful response with the
    /// permit held, or the failure.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: Accept,
    ) -> Result<(Response<Body>, OwnedSemaphorePermit), ApiFailure> {
        let body = match body {
            Some(v) => serde_json::to_vec(v)
                .map_err(|e| ApiFailure::new(None, format!("cannot encode request: {e}")))?,
            None => Vec::new(),
        };
        let mut attempt = 0;
        loop {
            let permit = Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .map_err(|_| ApiFailure::new(None, "collector shut down"))?;
            let mut request = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(http::header::ACCEPT, accept.header());
            if !body.is_empty() {
                request = request.header(http::header::CONTENT_TYPE, "application/json");
            }
            let request = request
                .body(Body::from(body.clone()))
                .map_err(|e| ApiFailure::new(None, format!("invalid request {path}: {e}")))?;
            let outcome = tokio::time::timeout(REQUEST_TIMEOUT, self.client.send(request)).await;
            let (failure, wait) = match outcome {
                // A server silent this long will not answer the same request sooner: not retried.
                Err(_) => {
                    return Err(ApiFailure::new(
                        None,
                        format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()),
                    ));
                }
                Ok(Err(e)) => (ApiFailure::new(None, e.to_string()), None),
                Ok(Ok(response)) if response.status().is_success() => {
                    return Ok((response, permit));
                }
                Ok(Ok(response)) => {
                    let status = response.status();
                    let wait = retry_after(&response);
                    let body = read_limited(response.into_body(), MAX_ERROR_BODY).await;
                    let failure = failure_from_body(status, &body);
                    if !retryable(status) {
                        return Err(failure);
                    }
                    (failure, wait)
                }
            };
            drop(permit);
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                return Err(ApiFailure::new(
                    failure.status,
                    format!("{} (after {attempt} attempts)", failure.message),
                ));
            }
            let delay = backoff(self.first_backoff, attempt - 1, wait);
            tracing::debug!(%path, attempt, ?delay, %failure, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends a request and reads its answer's body with `read`, the whole within [`REQUEST_TIMEOUT`] and
    /// holding one of the client's permits.
    async fn receive<T, F>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: Accept,
        read: impl FnOnce(Body) -> F,
    ) -> Result<T, ApiFailure>
    where
        F: std::future::Future<Output = Result<T, String>>,
    {
        let (response, permit) = self.send(method, path, body, accept).await?;
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, read(response.into_body()))
            .await
            .map_err(|_| ApiFailure::new(None, format!("{path}: answer not complete in time")))?
            .map_err(|e| ApiFailure::new(None, format!("{path}: {e}")))?;
        drop(permit);
        Ok(answer)
    }

    /// The whole answer's body.
    async fn send_for_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: Accept,
    ) -> Result<Bytes, ApiFailure> {
        self.receive(method, path, body, accept, |body| async move {
            body.collect()
                .await
                .map(|collected| collected.to_bytes())
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// A list page: in memory when small, else spooled to an unnamed temporary file while it arrives.
    async fn send_for_page(&self, path: &str) -> Result<PageBody, ApiFailure> {
        self.receive(Method::GET, path, None, Accept::Json, receive_page)
            .await
    }

    async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: Accept,
    ) -> Result<Value, ApiFailure> {
        let bytes = self.send_for_bytes(method, path, body, accept).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiFailure::new(None, format!("{path}: the answer is not JSON: {e}")))
    }

    pub(super) async fn get(&self, path: &str) -> Result<Value, ApiFailure> {
        self.send_json(Method::GET, path, None, Accept::Json).await
    }

    /// Only the object's metadata (`PartialObjectMetadata`), as `Api::get_metadata` asks for it: the server
    /// sends no data, spec or status.
    pub(super) async fn get_metadata(&self, path: &str) -> Result<Value, ApiFailure> {
        self.send_json(Method::GET, path, None, Accept::PartialMetadata)
            .await
    }

    pub(super) async fn create(&self, path: &str, object: &Value) -> Result<Value, ApiFailure> {
        self.send_json(Method::POST, path, Some(object), Accept::Json)
            .await
    }

    pub(super) async fn delete(&self, path: &str) -> Result<(), ApiFailure> {
        self.send_json(Method::DELETE, path, None, Accept::Json)
            .await
            .map(|_| ())
    }

    /// Opens a streamed GET (pod logs).
    pub(super) async fn stream(&self, path: &str) -> Result<ApiStream, ApiFailure> {
        let (response, permit) = self.send(Method::GET, path, None, Accept::Json).await?;
        Ok(ApiStream {
            body: response.into_body(),
            _permit: permit,
        })
    }

    /// Lists every object at `path` page by page, handing each item to `sink` as soon as its page is read,
    /// so no more than one page is held at once. Items get `apiVersion` and `kind` when the server left
    /// them out. Returns the List's own fields (apiVersion, kind, metadata without the paging fields) from
    /// its first page. When the continue token expires (410 Gone) the list starts over, and `sink` is told
    /// to forget what it took.
    pub(super) async fn list_into<S: ListSink + ?Sized>(
        &self,
        path: &str,
        sink: &mut S,
    ) -> Result<Map<String, Value>, ApiFailure> {
        let mut restarts = 0;
        'restart: loop {
            let mut head: Option<Map<String, Value>> = None;
            let mut token: Option<String> = None;
            loop {
                let page_path = page_url(path, token.as_deref());
                let page = match self.send_for_page(&page_path).await {
                    Ok(page) => page,
                    Err(failure) if failure.status == Some(410) && token.is_some() => {
                        restarts += 1;
                        if restarts > MAX_LIST_RESTARTS {
                            return Err(ApiFailure::new(
                                Some(410),
                                format!(
                                    "{} (the list kept expiring; gave up after {MAX_LIST_RESTARTS} restarts)",
                                    failure.message
                                ),
                            ));
                        }
                        tracing::debug!(%path, restarts, "continue token expired: listing again");
                        sink.restart().map_err(|e| spool_failure(path, &e))?;
                        continue 'restart;
                    }
                    Err(failure) => return Err(failure),
                };
                let page_head = page.read(sink).map_err(|e| match e {
                    PageError::Sink(e) => spool_failure(path, &e),
                    PageError::Json(e) => {
                        ApiFailure::new(None, format!("{path}: the answer is not JSON: {e}"))
                    }
                    PageError::NotAList => {
                        ApiFailure::new(None, format!("{path}: the answer is not a List"))
                    }
                    PageError::ItemsNotArray => {
                        ApiFailure::new(None, format!("{path}: `items` is not an array"))
                    }
                })?;
                token = page_head
                    .get("metadata")
                    .and_then(|m| m.get("continue"))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if head.is_none() {
                    head = Some(page_head);
                }
                if token.is_none() {
                    break;
                }
            }
            let mut list = head.unwrap_or_default();
            if let Some(Value::Object(meta)) = list.get_mut("metadata") {
                meta.remove("continue");
                meta.remove("remainingItemCount");
            }
            return Ok(list);
        }
    }
}

/// Where [`ApiClient::list_into`] puts a list's items.
pub(crate) trait ListSink {
    /// Takes one item (already given its `apiVersion` and `kind`).
    fn item(&mut self, item: Value) -> std::io::Result<()>;
    /// The list starts over (its continue token expired): the items taken so far are to be forgotten.
    fn restart(&mut self) -> std::io::Result<()>;
}

/// The whole list in memory.
impl ListSink for Vec<Value> {
    fn item(&mut self, item: Value) -> std::io::Result<()> {
        self.push(item);
        Ok(())
    }

    fn restart(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
}

fn spool_failure(path: &str, error: &std::io::Error) -> ApiFailure {
    ApiFailure::new(None, format!("{path}: cannot spool the list: {error}"))
}

#[derive(Debug)]
enum PageError {
    Json(serde_json::Error),
    NotAList,
    ItemsNotArray,
    Sink(std::io::Error),
}

/// A list page as received.
enum PageBody {
    Memory(Vec<u8>),
    Spooled(std::fs::File),
}

/// Collects a page's body, moving it to a temporary file once it passes [`PAGE_IN_MEMORY`].
async fn receive_page(mut body: Body) -> Result<PageBody, String> {
    use std::io::Write as _;

    let mut memory = Vec::new();
    let mut file: Option<std::io::BufWriter<std::fs::File>> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() else {
            continue;
        };
        match &mut file {
            Some(file) => file.write_all(&data),
            None if memory.len() + data.len() > PAGE_IN_MEMORY => {
                let mut spool = std::io::BufWriter::new(tempfile::tempfile().map_err(|e| {
                    format!("cannot create a temporary file for a large list page: {e}")
                })?);
                let written = spool
                    .write_all(&memory)
                    .and_then(|()| spool.write_all(&data));
                memory = Vec::new();
                file = Some(spool);
                written
            }
            None => {
                memory.extend_from_slice(&data);
                Ok(())
            }
        }
        .map_err(|e| format!("cannot spool a large list page: {e}"))?;
    }
    match file {
        None => Ok(PageBody::Memory(memory)),
        Some(file) => {
            use std::io::Seek as _;
            let mut file = file
                .into_inner()
                .map_err(|e| format!("cannot spool a large list page: {}", e.error()))?;
            file.rewind()
                .map_err(|e| format!("cannot read back a large list page: {e}"))?;
            Ok(PageBody::Spooled(file))
        }
    }
}

impl PageBody {
    fn read<S: ListSink + ?Sized>(self, sink: &mut S) -> Result<Map<String, Value>, PageError> {
        match self {
            PageBody::Memory(bytes) => read_page(&bytes, sink),
            PageBody::Spooled(file) => read_page_from(
                &mut serde_json::Deserializer::from_reader(std::io::BufReader::new(file)),
                sink,
            ),
        }
    }
}

/// Reads one List page, handing its items to `sink` one at a time (the page is never a `Value` whole);
/// returns the page's other fields. Items that come before the List's `apiVersion` and `kind` (never, from
/// a Kubernetes API server) wait until the page is read, to be completed like the others.
fn read_page<S: ListSink + ?Sized>(
    page: &[u8],
    sink: &mut S,
) -> Result<Map<String, Value>, PageError> {
    read_page_from(&mut serde_json::Deserializer::from_slice(page), sink)
}

fn read_page_from<'de, R: serde_json::de::Read<'de>, S: ListSink + ?Sized>(
    deserializer: &mut serde_json::Deserializer<R>,
    sink: &mut S,
) -> Result<Map<String, Value>, PageError> {
    use serde::de::DeserializeSeed;

    let mut reader = PageReader {
        sink,
        head: Map::new(),
        waiting: Vec::new(),
        failure: None,
    };
    let outcome = (&mut reader)
        .deserialize(&mut *deserializer)
        .and_then(|()| deserializer.end());
    if let Some(failure) = reader.failure.take() {
        return Err(failure);
    }
    outcome.map_err(PageError::Json)?;
    for item in std::mem::take(&mut reader.waiting) {
        reader.hand_over(item).map_err(PageError::Sink)?;
    }
    Ok(reader.head)
}

struct PageReader<'s, S: ?Sized> {
    sink: &'s mut S,
    head: Map<String, Value>,
    /// Items read before the List's apiVersion and kind.
    waiting: Vec<Value>,
    /// Why reading stopped, when it was not the JSON itself.
    failure: Option<PageError>,
}

impl<S: ListSink + ?Sized> PageReader<'_, S> {
    fn knows_kind(&self) -> bool {
        self.head.contains_key("apiVersion") && self.head.contains_key("kind")
    }

    fn hand_over(&mut self, mut item: Value) -> std::io::Result<()> {
        complete_item(&self.head, &mut item);
        self.sink.item(item)
    }

    fn take<E: serde::de::Error>(&mut self, item: Value) -> Result<(), E> {
        if !self.knows_kind() {
            self.waiting.push(item);
            return Ok(());
        }
        self.hand_over(item).map_err(|e| {
            let message = e.to_string();
            self.failure = Some(PageError::Sink(e));
            E::custom(message)
        })
    }
}

impl<'de, S: ListSink + ?Sized> serde::de::DeserializeSeed<'de> for &mut PageReader<'_, S> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: ListSink + ?Sized> serde::de::Visitor<'de> for &mut PageReader<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes List")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                map.next_value_seed(Items(&mut *self))?;
            } else {
                let value: Value = map.next_value()?;
                self.head.insert(key, value);
            }
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_a_list()
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_a_list()
    }
}

impl<S: ListSink + ?Sized> PageReader<'_, S> {
    fn not_a_list<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.failure = Some(PageError::NotAList);
        Err(E::custom("not a List"))
    }
}

/// The `items` of a page: each element read into a `Value` and handed over before the next is read.
struct Items<'r, 's, S: ?Sized>(&'r mut PageReader<'s, S>);

impl<'de, S: ListSink + ?Sized> serde::de::DeserializeSeed<'de> for Items<'_, '_, S> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: ListSink + ?Sized> serde::de::Visitor<'de> for Items<'_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            self.0.take::<A::Error>(item)?;
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.0.items_not_array()
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.0.items_not_array()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.0.items_not_array()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.0.items_not_array()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.0.items_not_array()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.0.items_not_array()
    }
}

impl<S: ListSink + ?Sized> PageReader<'_, S> {
    fn items_not_array<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.failure = Some(PageError::ItemsNotArray);
        Err(E::custom("`items` is not an array"))
    }
}

/// `path` with `limit` and, after the first page, `continue` added to its query.
pub(super) fn page_url(path: &str, token: Option<&str>) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    match token {
        None => format!("{path}{separator}limit={PAGE_SIZE}"),
        Some(token) => format!(
            "{path}{separator}limit={PAGE_SIZE}&continue={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        ),
    }
}

/// Fills an item's `apiVersion` and `kind` from its List's (`PodList` → `Pod`) when missing.
fn complete_item(list: &Map<String, Value>, item: &mut Value) {
    let Value::Object(item) = item else { return };
    if let Some(v) = list.get("apiVersion").and_then(Value::as_str) {
        item.entry("apiVersion")
            .or_insert_with(|| Value::String(v.into()));
    }
    if let Some(k) = list
        .get("kind")
        .and_then(Value::as_str)
        .and_then(|k| k.strip_suffix("List"))
    {
        item.entry("kind")
            .or_insert_with(|| Value::String(k.into()));
    }
}

async fn read_limited(mut body: Body, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data[..data.len().min(limit - out.len())]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    out
}

/// Percent-encodes one query value (selectors hold `=` and `,`).
pub(super) fn query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_carry_the_limit_and_an_encoded_continue_token() {
        assert_eq!(page_url("/api/v1/pods", None), "/api/v1/pods?limit=500");
        assert_eq!(
            page_url("/api/v1/pods?labelSelector=a%3Db", Some("eyJ2Ijo+/=")),
            "/api/v1/pods?labelSelector=a%3Db&limit=500&continue=eyJ2Ijo%2B%2F%3D"
        );
    }

    #[test]
    fn failures_carry_the_status_message_or_the_text() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"backups.velero.io is forbidden: User \"x\" cannot list resource","reason":"Forbidden","code":403}"#;
        let failure = failure_from_body(StatusCode::FORBIDDEN, status);
        assert_eq!(failure.status, Some(403));
        assert!(
            failure
                .message
                .starts_with("backups.velero.io is forbidden")
        );
        assert!(failure.is_forbidden());
        let failure = failure_from_body(StatusCode::BAD_GATEWAY, b"  upstream down \n");
        assert_eq!(failure.message, "upstream down");
        let failure = failure_from_body(StatusCode::NOT_FOUND, b"");
        assert_eq!(failure.message, "Not Found");
        assert!(failure.is_not_found());
    }

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let first = FIRST_BACKOFF;
        assert_eq!(backoff(first, 0, None), Duration::from_millis(200));
        assert_eq!(backoff(first, 2, None), Duration::from_millis(800));
        assert_eq!(backoff(first, 30, None), MAX_BACKOFF);
        assert_eq!(
            backoff(first, 0, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff(first, 0, Some(Duration::from_secs(600))),
            MAX_BACKOFF
        );
    }

    /// The whole list in memory, as the tests look at it.
    async fn list_whole(api: &ApiClient, path: &str) -> Result<Value, ApiFailure> {
        let mut items: Vec<Value> = Vec::new();
        let mut list = api.list_into(path, &mut items).await?;
        list.insert("items".into(), Value::Array(items));
        Ok(Value::Object(list))
    }

    /// A fake API server: answers by a function of (path and query, how many requests came before).
    fn mock_client(
        answer: impl Fn(&str, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> (kube::Client, Arc<std::sync::Mutex<Vec<String>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log = Arc::clone(&seen);
        let answer = Arc::new(answer);
        let service = tower::service_fn(move |request: Request<Body>| {
            let uri = request.uri().to_string();
            let count = {
                let mut log = log.lock().unwrap();
                log.push(uri.clone());
                log.len() - 1
            };
            let (status, body) = answer(&uri, count);
            async move {
                Ok::<_, std::convert::Infallible>(
                    Response::builder()
                        .status(status)
                        .body(http_body_util::Full::new(Bytes::from(body)))
                        .unwrap(),
                )
            }
        });
        (kube::Client::new(service, "default"), seen)
    }

    fn page(names: &[&str], token: &str) -> String {
        let items: Vec<Value> = names
            .iter()
            .map(|n| serde_json::json!({"metadata": {"name": n}}))
            .collect();
        serde_json::json!({"apiVersion": "v1", "kind": "PodList",
            "metadata": {"resourceVersion": "7", "continue": token}, "items": items})
        .to_string()
    }

    fn status(code: u16, message: &str) -> String {
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": message, "code": code})
        .to_string()
    }

    #[tokio::test]
    async fn a_list_follows_continue_tokens_into_one_list() {
        let (client, seen) = mock_client(|uri, _| {
            if uri.contains("continue=t1") {
                (200, page(&["c"], ""))
            } else {
                (200, page(&["a", "b"], "t1"))
            }
        });
        let list = list_whole(&ApiClient::new(client, 2), "/api/v1/pods")
            .await
            .unwrap();
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        assert_eq!(list["items"][2]["kind"], "Pod");
        assert!(list["metadata"].get("continue").is_none());
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                "/api/v1/pods?limit=500",
                "/api/v1/pods?limit=500&continue=t1"
            ]
        );
    }

    #[tokio::test]
    async fn a_page_larger_than_memory_allows_is_read_from_a_temporary_file() {
        // Three CRD-sized items of 3 MiB: the page passes PAGE_IN_MEMORY and is spooled on arrival.
        let schema = "x".repeat(3 * 1024 * 1024);
        let big_page = serde_json::json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
            "items": [{"metadata": {"name": "a"}, "spec": {"schema": schema}},
                      {"metadata": {"name": "b"}, "spec": {"schema": schema}},
                      {"metadata": {"name": "c"}, "spec": {"schema": schema}}]})
        .to_string();
        assert!(big_page.len() > PAGE_IN_MEMORY);
        let truncated = big_page[..big_page.len() - 10].to_string();
        let (client, _) = mock_client(move |uri, _| {
            if uri.starts_with("/api/v1/pods") {
                (200, big_page.clone())
            } else {
                (200, truncated.clone())
            }
        });
        let api = ApiClient::new(client, 2);
        let mut items: Vec<Value> = Vec::new();
        api.list_into("/api/v1/pods", &mut items).await.unwrap();
        let names: Vec<&str> = items
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(items[2]["kind"], "Pod");
        assert_eq!(
            items[1]["spec"]["schema"].as_str().unwrap().len(),
            schema.len()
        );

        let failure = api
            .list_into("/api/v1/nodes", &mut Vec::new())
            .await
            .unwrap_err();
        assert!(
            failure
                .message
                .starts_with("/api/v1/nodes: the answer is not JSON"),
            "{}",
            failure.message
        );
    }

    #[tokio::test]
    async fn an_expired_continue_token_restarts_the_list() {
        let (client, seen) = mock_client(|uri, count| {
            if uri.contains("continue=") && count < 2 {
                (
                    410,
                    status(410, "The provided continue parameter is too old"),
                )
            } else if uri.contains("continue=") {
                (200, page(&["b"], ""))
            } else {
                (200, page(&["a"], "t"))
            }
        });
        let list = list_whole(&ApiClient::new(client, 2), "/api/v1/pods")
            .await
            .unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert_eq!(seen.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn too_many_requests_and_server_errors_are_retried_then_reported() {
        let (client, seen) = mock_client(|_, count| match count {
            0 => (429, status(429, "slow down")),
            1 => (503, "unavailable".into()),
            _ => (200, "{\"gitVersion\": \"v1.29.4\"}".into()),
        });
        let version = ApiClient::new(client, 2)
            .with_first_backoff(Duration::from_millis(1))
            .get("/version")
            .await
            .unwrap();
        assert_eq!(version["gitVersion"], "v1.29.4");
        assert_eq!(seen.lock().unwrap().len(), 3);

        let (client, seen) = mock_client(|_, _| (500, status(500, "etcd is down")));
        let failure = ApiClient::new(client, 2)
            .with_first_backoff(Duration::from_millis(1))
            .get("/version")
            .await
            .unwrap_err();
        assert_eq!(failure.status, Some(500));
        assert!(
            failure
                .message
                .starts_with("etcd is down (after 5 attempts)")
        );
        assert_eq!(seen.lock().unwrap().len(), MAX_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn forbidden_is_reported_at_once_with_the_status_message() {
        let (client, seen) = mock_client(|_, _| {
            (
                403,
                status(
                    403,
                    "backups.velero.io is forbidden: User \"snapdoc\" cannot list",
                ),
            )
        });
        let failure = list_whole(
            &ApiClient::new(client, 2),
            "/apis/velero.io/v1/namespaces/velero/backups",
        )
        .await
        .unwrap_err();
        assert_eq!(failure.status, Some(403));
        assert!(
            failure
                .message
                .starts_with("backups.velero.io is forbidden")
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
        let record = failure.record("velero-objects", "backups.velero.io", Some("velero"));
        assert_eq!(record.status, Some(403));
        assert_eq!(record.namespace.as_deref(), Some("velero"));
    }

    #[test]
    fn a_page_is_read_item_by_item_whatever_the_order_of_its_fields() {
        let mut items: Vec<Value> = Vec::new();
        let page =
            br#"{"items": [{"metadata": {"name": "a"}}], "kind": "PodList", "apiVersion": "v1",
            "metadata": {"continue": "t"}}"#;
        let head = read_page(page, &mut items).unwrap();
        assert_eq!(items[0]["kind"], "Pod");
        assert_eq!(head["metadata"]["continue"], "t");
        assert!(!head.contains_key("items"));

        let mut items: Vec<Value> = Vec::new();
        read_page(
            br#"{"kind": "PodList", "apiVersion": "v1", "items": null}"#,
            &mut items,
        )
        .unwrap();
        assert!(items.is_empty());
        assert!(matches!(
            read_page(br#"{"kind": "PodList", "items": {"a": 1}}"#, &mut items),
            Err(PageError::ItemsNotArray)
        ));
        assert!(matches!(
            read_page(b"[1, 2]", &mut items),
            Err(PageError::NotAList)
        ));
        assert!(matches!(
            read_page(b"{\"items\": [", &mut items),
            Err(PageError::Json(_))
        ));
    }

    /// A sink that cannot store (a full disk).
    struct FullDisk;

    impl ListSink for FullDisk {
        fn item(&mut self, _: Value) -> std::io::Result<()> {
            Err(std::io::Error::other("No space left on device"))
        }
        fn restart(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_sink_that_cannot_store_fails_the_list_with_its_reason() {
        let (client, _) = mock_client(|_, _| (200, page(&["a"], "")));
        let failure = ApiClient::new(client, 2)
            .list_into("/api/v1/pods", &mut FullDisk)
            .await
            .unwrap_err();
        assert_eq!(failure.status, None);
        assert_eq!(
            failure.message,
            "/api/v1/pods: cannot spool the list: No space left on device"
        );
    }

    #[test]
    fn list_items_get_their_kind_from_the_list() {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "PodList"});
        let mut items = vec![
            serde_json::json!({"metadata": {"name": "a"}}),
            serde_json::json!({"apiVersion": "x/v1", "kind": "Other"}),
        ];
        for item in &mut items {
            complete_item(list.as_object().unwrap(), item);
        }
        assert_eq!(items[0]["kind"], "Pod");
        assert_eq!(items[0]["apiVersion"], "v1");
        assert_eq!(items[1]["kind"], "Other");
    }
}
