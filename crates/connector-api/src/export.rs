//! The generated `Guest` trait implemented for any [`Connector`] (on `wasm32` only); used by
//! [`export_connector!`](crate::export_connector).

use crate::bindings::exports::lms::connector0_3_0::connector::Guest;
use crate::bindings::lms::connector0_1_0::types as wit;
use crate::bindings::lms::connector0_3_0::types as wit_0_3_0;
use crate::connector::{Connector, Context};
use crate::host::{HostLog, HostPorts, HostProgress, HostSettings, HostUsers, WasiHttp};
use std::marker::PhantomData;

/// Exports the connector `C`: converts each call's arguments, runs `C`'s function with the host's ports, converts
/// the answer back.
pub struct Export<C>(PhantomData<C>);

fn context() -> Context<HostPorts> {
    Context::new(HostSettings, HostLog, WasiHttp, HostUsers).with_progress(HostProgress)
}

impl<C: Connector> Guest for Export<C> {
    fn describe() -> wit::ConnectorInfo {
        C::describe().into()
    }

    fn start_activation(request: wit::ActivationRequest) -> Result<String, wit::ConnectorError> {
        C::start_activation(&mut context(), request.into()).map_err(Into::into)
    }

    fn complete_activation(
        query: Vec<(String, String)>,
    ) -> Result<wit::ActivationResult, wit::ConnectorError> {
        C::complete_activation(&mut context(), query)
            .map(Into::into)
            .map_err(Into::into)
    }

    fn deactivate() -> Result<(), wit::ConnectorError> {
        C::deactivate(&mut context()).map_err(Into::into)
    }

    fn deliver(
        notification: wit_0_3_0::Notification,
        recipients: Vec<wit_0_3_0::Recipient>,
    ) -> Vec<wit::DeliveryOutcome> {
        let recipients = recipients.into_iter().map(Into::into).collect();
        C::deliver(&mut context(), notification.into(), recipients)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    fn update(
        notification: wit_0_3_0::Notification,
        change: wit_0_3_0::SessionChange,
        messages: Vec<wit_0_3_0::MessageUpdate>,
    ) -> Vec<wit::DeliveryOutcome> {
        let messages = messages.into_iter().map(Into::into).collect();
        C::update(&mut context(), notification.into(), change.into(), messages)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    fn status() -> wit::IntegrationState {
        C::status(&mut context()).into()
    }

    fn handle_inbound(request: wit::InboundRequest) -> wit::InboundResponse {
        C::handle_inbound(&mut context(), request.into()).into()
    }
}
