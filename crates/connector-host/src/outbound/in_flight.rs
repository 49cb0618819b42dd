//! Requests in flight per call. A call (one store) may have at most [`OutboundConfig::max_requests_in_flight`]
//! outgoing requests open at once: sent and not yet answered, or answered with a body not yet read to its end nor
//! dropped. One more traps the call with a clear error instead of opening another connection: a component that
//! fires thousands of requests at once fails alone, and never holds more than its share of the process's
//! connections and buffers.
//!
//! wasi:http's hooks cannot trap (a hook's error becomes an error code the component may ignore), so the cap sits in
//! front of wasmtime-wasi-http's `outgoing-handler.handle` ([`add_to_linker`]): [`CappedHandler`] traps when the
//! store's count is at the cap, and otherwise hands the request on to wasi:http, which hands it to
//! [`super::OutboundPolicy`], which counts it.
//!
//! [`OutboundConfig::max_requests_in_flight`]: super::OutboundConfig::max_requests_in_flight

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi_http::WasiHttpCtxView;
use wasmtime_wasi_http::p2::bindings::http::{outgoing_handler, types};
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};

/// The requests one call has in flight, and how many it may have.
#[derive(Debug, Clone)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    max: usize,
}

impl InFlight {
    /// No request in flight yet; at most `max` at once.
    pub fn new(max: usize) -> InFlight {
        InFlight {
            count: Arc::default(),
            max,
        }
    }

    /// Requests in flight now.
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Whether one more request may start.
    pub fn has_room(&self) -> bool {
        self.current() < self.max
    }

    /// Counts one more request in flight until the returned guard is dropped.
    pub fn enter(&self) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.count.clone())
    }
}

/// One request in flight; dropping it (when the answer's body ended, was dropped, or the request failed) ends it.
#[derive(Debug)]
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One store's view for `outgoing-handler.handle`: wasi:http's own, with the count of the store's requests in flight.
pub struct CappedHandler<'a> {
    view: WasiHttpCtxView<'a>,
    in_flight: InFlight,
    caller: Arc<str>,
}

impl<'a> CappedHandler<'a> {
    /// The handler of one store: its wasi:http view and the count of its requests in flight, for `caller` (in the
    /// log).
    pub fn new(view: WasiHttpCtxView<'a>, in_flight: InFlight, caller: Arc<str>) -> Self {
        CappedHandler {
            view,
            in_flight,
            caller,
        }
    }

    /// `handle`: traps when the store already has its cap of requests in flight, and otherwise is wasi:http's own
    /// (which hands the request to the outbound policy).
    fn handle(
        &mut self,
        request: Resource<HostOutgoingRequest>,
        options: Option<Resource<types::RequestOptions>>,
    ) -> wasmtime::Result<Result<Resource<HostFutureIncomingResponse>, types::ErrorCode>> {
        if !self.in_flight.has_room() {
            let why = format!(
                "{} opened more than {} outgoing requests at once (the cap per call, `max_requests_in_flight` under \
                 [outbound] in the grant file): the call is stopped",
                self.caller,
                self.in_flight.max()
            );
            tracing::warn!(target: "outbound", "denied: {why}");
            return Err(wasmtime::Error::msg(why));
        }
        match outgoing_handler::Host::handle(&mut self.view, request, options) {
            Ok(future) => Ok(Ok(future)),
            Err(e) => Ok(Err(types::Host::convert_error_code(&mut self.view, e)?)),
        }
    }
}

/// Links `outgoing-handler` under `name` (the interface as the component imports it, such as
/// `wasi:http/outgoing-handler@0.2.12`) with the cap on requests in flight; `get` gives a store's handler, and
/// `before` runs on the store before each request is handed on (an error stops the call).
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    name: &str,
    before: fn(&mut T) -> wasmtime::Result<()>,
    get: fn(&mut T) -> CappedHandler<'_>,
) -> wasmtime::Result<()> {
    linker.instance(name)?.func_wrap(
        "handle",
        move |mut store: StoreContextMut<'_, T>,
              (request, options): (
            Resource<HostOutgoingRequest>,
            Option<Resource<types::RequestOptions>>,
        )| {
            before(store.data_mut())?;
            Ok((get(store.data_mut()).handle(request, options)?,))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_requests_in_flight_up_to_the_cap() {
        let in_flight = InFlight::new(2);
        let a = in_flight.enter();
        assert!(in_flight.has_room());
        let b = in_flight.enter();
        assert!(!in_flight.has_room());
        assert_eq!(in_flight.current(), 2);
        drop(a);
        assert!(in_flight.has_room());
        drop(b);
        assert_eq!(in_flight.clone().current(), 0);
    }
}
