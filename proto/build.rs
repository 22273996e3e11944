//! Compiles the protos at build time with protox (a protobuf compiler written in Rust, so
//! a fresh machine needs no `protoc`), then generates:
//!
//! - prost messages and tonic client/server code (`flow.rs`, `observer.rs`, `relay.rs`,
//!   `observe.control.v1.rs`),
//! - pbjson serde impls following the proto3 JSON mapping (`*.serde.rs`),
//! - the encoded descriptor set (`descriptor_set.bin`) for gRPC reflection.

use std::error::Error;
use std::path::PathBuf;

use prost::Message as _;

const PROTOS: &[&str] = &[
    "flow/flow.proto",
    "observer/observer.proto",
    "relay/relay.proto",
    "control/control.proto",
];
const PACKAGES: &[&str] = &[".flow", ".observer", ".relay", ".observe.control.v1"];

fn main() -> Result<(), Box<dyn Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }

    // Source info keeps the .proto comments, which prost turns into rustdoc; imports are
    // kept so the descriptor set is self-contained for reflection clients.
    let fds = protox::Compiler::new([&root])?
        .include_source_info(true)
        .include_imports(true)
        .open_files(PROTOS)?
        .file_descriptor_set();
    let encoded = fds.encode_to_vec();
    std::fs::write(out_dir.join("descriptor_set.bin"), &encoded)?;

    generate_messages_and_services(fds)?;

    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        // Hubble prints JSON with the proto field names (`IP`, `l4`, `traffic_direction`),
        // not the lowerCamelCase JSON names; both are accepted when parsing.
        .preserve_proto_field_names()
        // Newer Hubble versions add fields and enum values (drop reasons); a flow line
        // must still parse (unknown enum names read as the enum's zero value).
        .ignore_unknown_fields()
        .ignore_unknown_enum_variants()
        .extern_path(".google.protobuf", "::pbjson_types")
        .extern_path(".google.protobuf.Timestamp", "crate::Timestamp")
        .build(PACKAGES)?;
    Ok(())
}

/// prost + tonic code for our packages. The well-known types come from pbjson-types
/// (which carry serde impls), except Timestamp, which is ours so that its JSON form is the
/// one Hubble prints.
fn generate_messages_and_services(
    fds: prost_types::FileDescriptorSet,
) -> Result<(), Box<dyn Error>> {
    // prost also writes a google.protobuf.rs for the imported files (it needs their
    // descriptors to resolve field types); lib.rs does not include it.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // No `connect()` helpers: clients bring their own channel (unix socket or TCP).
        .build_transport(false)
        // Required so that prost does not map `.google.protobuf` to prost-types itself.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .extern_path(".google.protobuf.Timestamp", "crate::Timestamp")
        .compile_fds(fds)?;
    Ok(())
}
