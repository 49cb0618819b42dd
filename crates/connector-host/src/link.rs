//! Links only what is granted: each interface the component imports (and the grants allow) is added to the linker
//! on its own, so that a store of a component that does not import `wasi:filesystem` or `wasi:sockets` has no such
//! functions at all.

use crate::bindings::{v0_1_0, v0_2_0, v0_3_0};
use crate::state::StoreState;
use crate::surface::unversioned;
use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// The interfaces the host can provide (without version).
pub const PROVIDED: &[&str] = &[
    "lms:connector/types",
    "lms:connector/settings",
    "lms:connector/users",
    "lms:connector/log",
    "lms:connector/progress",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
];

/// What the linker knows an import by: the contract's own interfaces by their full name (its versions are not
/// compatible with each other: 0.2.0 and 0.3.0 have `types` of their own beside those of 0.1.0), every other interface without
/// its version (wasmtime matches the host's WASI version to any compatible one the component names).
pub fn key(name: &str) -> &str {
    if name.starts_with("lms:connector/") {
        name
    } else {
        unversioned(name)
    }
}

/// Adds the host's implementation of the interface `name` (with or without version) to the linker; `Ok(false)`
/// when the host does not provide it.
pub fn link(l: &mut Linker<StoreState>, name: &str) -> wasmtime::Result<bool> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random, sockets};
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
    use wasmtime_wasi_http::WasiHttp;
    use wasmtime_wasi_http::WasiHttpView;
    type S = StoreState;
    let wasi_options = wasmtime_wasi::p2::bindings::LinkOptions::default();
    let http_options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
    match unversioned(name) {
        "lms:connector/types" if name.ends_with("@0.2.0") => {
            v0_2_0::types::add_to_linker::<S, HasSelf<S>>(l, |s| s)?
        }
        "lms:connector/types" if name.ends_with("@0.3.0") => {
            v0_3_0::types::add_to_linker::<S, HasSelf<S>>(l, |s| s)?
        }
        "lms:connector/types" => v0_1_0::types::add_to_linker::<S, HasSelf<S>>(l, |s| s)?,
        "lms:connector/settings" => v0_1_0::settings::add_to_linker::<S, HasSelf<S>>(l, |s| s)?,
        "lms:connector/users" => v0_1_0::users::add_to_linker::<S, HasSelf<S>>(l, |s| s)?,
        "lms:connector/log" => v0_1_0::log::add_to_linker::<S, HasSelf<S>>(l, |s| s)?,
        "lms:connector/progress" => v0_2_0::progress::add_to_linker::<S, HasSelf<S>>(l, |s| s)?,
        "wasi:http/types" => wasmtime_wasi_http::p2::bindings::http::types::add_to_linker::<
            S,
            WasiHttp,
        >(l, &(&http_options).into(), S::http)?,
        // wasi:http's own handler, behind the outbound policy's cap on requests in flight per call. The posts
        // announced so far (with the other reports and the settings written) are handed to the embedder before a
        // request leaves.
        "wasi:http/outgoing-handler" => {
            crate::outbound::add_to_linker(l, name, S::before_request, |s| {
                let (in_flight, caller) = (s.hooks.in_flight(), s.hooks.caller());
                crate::outbound::CappedHandler::new(s.http(), in_flight, caller)
            })?
        }
        "wasi:io/error" => io::error::add_to_linker::<S, HasIo>(l, |s| &mut s.table)?,
        "wasi:io/poll" => io::poll::add_to_linker::<S, HasIo>(l, |s| &mut s.table)?,
        "wasi:io/streams" => io::streams::add_to_linker::<S, HasIo>(l, |s| &mut s.table)?,
        "wasi:clocks/wall-clock" => {
            clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?
        }
        "wasi:clocks/monotonic-clock" => {
            clocks::monotonic_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?
        }
        "wasi:random/random" => random::random::add_to_linker::<S, WasiRandom>(l, S::random)?,
        "wasi:random/insecure" => random::insecure::add_to_linker::<S, WasiRandom>(l, S::random)?,
        "wasi:random/insecure-seed" => {
            random::insecure_seed::add_to_linker::<S, WasiRandom>(l, S::random)?
        }
        "wasi:cli/exit" => cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/environment" => cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/stdin" => cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/stdout" => cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/stderr" => cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/terminal-input" => cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/terminal-output" => cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/terminal-stdin" => cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/terminal-stdout" => cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?,
        "wasi:cli/terminal-stderr" => cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?,
        // Only when granted; the store's WasiCtx has no preopened directory, so there is nothing to open.
        "wasi:filesystem/types" => {
            filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?
        }
        "wasi:filesystem/preopens" => {
            filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?
        }
        // Only when granted; wasmtime-wasi denies every socket address unless the WasiCtx allows it, and ours
        // does not.
        "wasi:sockets/network" => sockets::network::add_to_linker::<S, WasiSockets>(
            l,
            &(&wasi_options).into(),
            S::sockets,
        )?,
        "wasi:sockets/instance-network" => {
            sockets::instance_network::add_to_linker::<S, WasiSockets>(l, S::sockets)?
        }
        "wasi:sockets/tcp" => sockets::tcp::add_to_linker::<S, WasiSockets>(l, S::sockets)?,
        "wasi:sockets/tcp-create-socket" => {
            sockets::tcp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?
        }
        "wasi:sockets/udp" => sockets::udp::add_to_linker::<S, WasiSockets>(l, S::sockets)?,
        "wasi:sockets/udp-create-socket" => {
            sockets::udp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?
        }
        "wasi:sockets/ip-name-lookup" => {
            sockets::ip_name_lookup::add_to_linker::<S, WasiSockets>(l, S::sockets)?
        }
        _ => return Ok(false),
    }
    Ok(true)
}
