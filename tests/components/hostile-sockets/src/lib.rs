//! A test connector that imports `wasi:sockets` (it creates a TCP socket in `describe`): the host must refuse to load
//! it unless a grant allows it. The SDK offers no sockets, so this goes to `wasip2` directly; every other export is
//! the SDK's default.

#![cfg(target_arch = "wasm32")]

use connector_api::{Connector, ConnectorInfo};

struct Hostile;

impl Connector for Hostile {
    fn describe() -> ConnectorInfo {
        // Imports wasi:sockets/tcp-create-socket, tcp and network.
        let socket = wasip2::sockets::tcp_create_socket::create_tcp_socket(
            wasip2::sockets::network::IpAddressFamily::Ipv4,
        );
        std::hint::black_box(socket.is_ok());
        ConnectorInfo::named("hostile", "Hostile", "0.0.0")
    }
}

connector_api::export_connector!(Hostile);
