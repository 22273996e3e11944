//! Serving `GetFlows` raw next to a generated `observer.Observer`: [`RawRouter`] sends
//! `GetFlows` to a [`RawGetFlows`] (responses as encoded bytes, through
//! [`ClientCodec`]) and every other method to the generated server. The agent serves
//! itself this way (each response encoded once, where its stream builds it), and so does
//! the relay, so that flows pass through it as the nodes encoded them; the relay's
//! benchmark serves its pre-encoded nodes the same way.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::body::Body;
use tonic::codegen::tokio_stream::Stream;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};

use crate::observer::GetFlowsRequest;
use crate::observer::observer_server::{Observer, ObserverServer};
use crate::raw::{ClientCodec, GET_FLOWS};

/// A `GetFlows` whose responses are already encoded.
pub trait RawGetFlows: Clone + Send + Sync + 'static {
    /// The response stream.
    type Stream: Stream<Item = Result<Bytes, Status>> + Send + 'static;

    /// Starts answering `request`.
    ///
    /// # Errors
    ///
    /// The status the client gets instead of a stream.
    fn get_flows(&self, request: GetFlowsRequest) -> Result<Self::Stream, Status>;
}

/// The router entry: `GetFlows` to `flows`, the rest to `observer`.
#[derive(Clone)]
pub struct RawRouter<O: Observer, F: RawGetFlows> {
    flows: F,
    observer: ObserverServer<O>,
}

impl<O: Observer, F: RawGetFlows> RawRouter<O, F> {
    /// `observer` with its `GetFlows` answered by `flows`.
    pub fn new(observer: O, flows: F) -> Self {
        Self {
            flows,
            observer: ObserverServer::new(observer),
        }
    }
}

impl<O: Observer, F: RawGetFlows> NamedService for RawRouter<O, F> {
    const NAME: &'static str = <ObserverServer<O> as NamedService>::NAME;
}

impl<O: Observer, F: RawGetFlows> Service<http::Request<Body>> for RawRouter<O, F> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if req.uri().path() != GET_FLOWS {
            return self.observer.call(req);
        }
        let method = Method(self.flows.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ClientCodec);
            Ok(grpc.server_streaming(method, req).await)
        })
    }
}

/// A [`RawGetFlows`] as tonic's server-streaming method.
struct Method<F>(F);

impl<F: RawGetFlows> tonic::server::ServerStreamingService<GetFlowsRequest> for Method<F> {
    type Response = Bytes;
    type ResponseStream = F::Stream;
    type Future = BoxFuture<Response<F::Stream>, Status>;

    fn call(&mut self, request: Request<GetFlowsRequest>) -> Self::Future {
        let flows = self.0.clone();
        Box::pin(async move { flows.get_flows(request.into_inner()).map(Response::new) })
    }
}
