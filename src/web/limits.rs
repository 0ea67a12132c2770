//! Per-address limits on what one client may ask of the service, so that a flood from one address is turned
//! away (429 with `Retry-After`) without slowing other residents: responses sent through the API, pages of the
//! resident journey, and live results streams. Keyed by `client_address` (IPv6 clients by their /64); addresses
//! in `limits.exempt` (RATE_LIMIT_EXEMPT) are not limited. Counted per instance: behind a load balancer each
//! instance allows its share.

use crate::config::LimitSettings;
use crate::web::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Submission,
    Journey,
}

fn kind_of(method: &Method, path: &str) -> Option<Kind> {
    let consultation = path.strip_prefix("/consultations/").or_else(|| path.strip_prefix("/api/v1/consultations/"))?;
    let (_, rest) = consultation.split_once('/')?;
    if path.starts_with("/api/") {
        (method == Method::POST && rest == "responses").then_some(Kind::Submission)
    } else {
        // Saving for later and its links are pages of the journey too (and each save sends an email); asking to
        // be told of results sends one too: counted alike, so nobody floods an inbox.
        let journey = ["respond", "save", "return", "saved"]
            .iter()
            .any(|part| rest == *part || rest.strip_prefix(part).is_some_and(|r| r.starts_with('/')));
        let asks = method == Method::POST && rest == "notify";
        (journey || asks).then_some(Kind::Journey)
    }
}

pub struct Limits {
    submissions: DefaultKeyedRateLimiter<IpAddr>,
    journey: DefaultKeyedRateLimiter<IpAddr>,
    streams: Mutex<HashMap<IpAddr, usize>>,
    open_streams: Arc<AtomicUsize>,
    settings: LimitSettings,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).expect("at least one");
    Quota::per_minute(n).allow_burst(n)
}

impl Limits {
    pub fn new(settings: &LimitSettings) -> Limits {
        Limits {
            submissions: RateLimiter::keyed(quota(settings.submissions_per_minute)),
            journey: RateLimiter::keyed(quota(settings.journey_per_minute)),
            streams: Mutex::default(),
            open_streams: Arc::default(),
            settings: settings.clone(),
        }
    }

    /// The key an address is counted under, or none when it is exempt.
    fn key(&self, address: IpAddr) -> Option<IpAddr> {
        if self.settings.exempt.iter().any(|net| net.contains(&address)) {
            return None;
        }
        Some(match address {
            // One household or office gets a /64: counting each of its addresses apart would let one client
            // rotate through them.
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            v4 => v4,
        })
    }

    /// Forgets addresses that have not been seen for a while, so the counters do not grow without end.
    pub fn sweep(&self) {
        self.submissions.retain_recent();
        self.journey.retain_recent();
    }

    /// A place for one more live stream from `address`, or how many seconds to wait. The place is given back
    /// when the returned permit is dropped (when the stream ends).
    pub fn stream(self: &Arc<Self>, address: IpAddr) -> Result<StreamPermit, u64> {
        if self.open_streams.fetch_add(1, Ordering::SeqCst) >= self.settings.streams_per_instance {
            self.open_streams.fetch_sub(1, Ordering::SeqCst);
            return Err(STREAM_RETRY_SECONDS);
        }
        let key = self.key(address);
        if let Some(key) = key {
            let mut streams = self.streams.lock().expect("stream counts lock");
            let open = streams.entry(key).or_default();
            if *open >= self.settings.streams_per_address {
                drop(streams);
                self.open_streams.fetch_sub(1, Ordering::SeqCst);
                return Err(STREAM_RETRY_SECONDS);
            }
            *open += 1;
        }
        Ok(StreamPermit { limits: self.clone(), key })
    }
}

/// How long a client refused a stream is asked to wait before trying again.
pub const STREAM_RETRY_SECONDS: u64 = 30;

/// One open live stream; dropping it frees its place.
pub struct StreamPermit {
    limits: Arc<Limits>,
    key: Option<IpAddr>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        self.limits.open_streams.fetch_sub(1, Ordering::SeqCst);
        if let Some(key) = self.key {
            let mut streams = self.limits.streams.lock().expect("stream counts lock");
            if let Some(open) = streams.get_mut(&key) {
                *open -= 1;
                if *open == 0 {
                    streams.remove(&key);
                }
            }
        }
    }
}

/// Middleware: counts journey pages and API responses against their address's limit. A signed-in request (an
/// officer's token or session, found by the identity middleware before this one) is not counted.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(kind) = kind_of(request.method(), request.path()) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let signed_in = request.extensions().contains::<crate::web::identity::Identity>();
    let address = crate::web::client_address(request.request(), &state.settings);
    if let (Some(key), false) = (state.limits.key(address), signed_in) {
        let limiter = match kind {
            Kind::Submission => &state.limits.submissions,
            Kind::Journey => &state.limits.journey,
        };
        if let Err(not_until) = limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1;
            let response = too_many(kind, wait);
            return Ok(request.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(request).await?.map_into_left_body())
}

fn too_many(kind: Kind, wait: u64) -> HttpResponse {
    let mut response = match kind {
        Kind::Submission => actix_web::ResponseError::error_response(&crate::web::api::Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/too-many-requests",
            "Too many requests",
            "Too many responses from your address: nothing was stored; retry after Retry-After seconds",
        )),
        Kind::Journey => actix_web::ResponseError::error_response(&crate::web::error::AppError::TooManyRequests),
    };
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journey_and_api_responses_are_what_is_counted() {
        assert_eq!(kind_of(&Method::POST, "/api/v1/consultations/irmp/responses"), Some(Kind::Submission));
        assert_eq!(kind_of(&Method::GET, "/api/v1/consultations/irmp/responses"), None);
        assert_eq!(kind_of(&Method::GET, "/consultations/irmp/respond"), Some(Kind::Journey));
        assert_eq!(kind_of(&Method::POST, "/consultations/irmp/respond/check"), Some(Kind::Journey));
        assert_eq!(kind_of(&Method::GET, "/consultations/irmp"), None);
        assert_eq!(kind_of(&Method::GET, "/consultations/irmp/results"), None);
        assert_eq!(kind_of(&Method::POST, "/consultations/irmp/notify"), Some(Kind::Journey));
        assert_eq!(kind_of(&Method::GET, "/consultations/irmp/notify"), None);
        assert_eq!(kind_of(&Method::POST, "/consultations/irmp/save"), Some(Kind::Journey));
        assert_eq!(kind_of(&Method::GET, "/consultations/irmp/return/abc"), Some(Kind::Journey));
        assert_eq!(kind_of(&Method::POST, "/consultations/irmp/saved/delete"), Some(Kind::Journey));
        assert_eq!(kind_of(&Method::GET, "/consultations/irmp/saved-answers"), None);
    }
}
