//! `agora info MODEL`: metadata, tensor types and sizes, without loading the model for compute.

use std::collections::BTreeMap;

use anyhow::Result;
use models::WeightSource;
use weights::gguf::{MetaArray, MetaValue};

use crate::args::InfoArgs;
use crate::settings;

pub fn run(a: &InfoArgs) -> Result<()> {
    let path = settings::resolve_model(Some(&a.model), false)?;
    let src = WeightSource::open(&path)?;
    let WeightSource::Gguf(g) = &src else {
        let WeightSource::Hf(h) = &src else { unreachable!() };
        println!("{}", serde_json::to_string_pretty(&h.config)?);
        return Ok(());
    };
    let mut by_type: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut n_params = 0usize;
    for t in g.tensor_infos() {
        let e = by_type.entry(t.ty.name()).or_default();
        e.0 += 1;
        e.1 += t.n_bytes;
        n_params += t.shape.iter().product::<usize>();
    }
    // Required attribution (notices, "Built with ..." displays, use policies) from the license.
    let art = card::inspect(&path).ok();
    let attribution = art.as_ref().map(|a| card::attribution_for(&a.terms())).unwrap_or_default();
    let license = art.as_ref().map_or_else(|| "other".to_string(), |a| a.license.clone());
    let meta: BTreeMap<&str, String> = g.metadata().iter().map(|(k, v)| (k, show(v))).collect();
    if a.json {
        let tensors: Vec<_> = g
            .tensor_infos()
            .iter()
            .map(|t| serde_json::json!({"name": t.name, "type": t.ty.name(), "shape": t.shape, "bytes": t.n_bytes}))
            .collect();
        let v = serde_json::json!({
            "path": path, "gguf_version": g.version(), "file_bytes": g.file_size(), "parameters": n_params,
            "metadata": meta,
            "license": license,
            "attribution": attribution,
            "tensor_types": by_type.iter().map(|(k, (n, b))| (k.to_string(), serde_json::json!({"count": n, "bytes": b}))).collect::<BTreeMap<_, _>>(),
            "tensors": if a.tensors { serde_json::Value::from(tensors) } else { serde_json::Value::Null },
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("file:       {} ({:.1} MB, GGUF v{})", path.display(), g.file_size() as f64 / 1e6, g.version());
    println!("parameters: {:.1} M in {} tensors", n_params as f64 / 1e6, g.tensor_infos().len());
    println!("license:    {license} (`agora license check {}` for obligations)", a.model);
    for l in &attribution {
        println!("attribution: {l}");
    }
    println!("\nmetadata:");
    for (k, v) in &meta {
        println!("  {k:<48} {v}");
    }
    println!("\ntensor types:");
    for (ty, (n, b)) in &by_type {
        println!("  {ty:<6} {n:>5} tensors {:>10.2} MB", *b as f64 / 1e6);
    }
    if a.tensors {
        println!("\ntensors:");
        for t in g.tensor_infos() {
            println!("  {:<40} {:<6} {:?} {} bytes", t.name, t.ty.name(), t.shape, t.n_bytes);
        }
    }
    Ok(())
}

/// One line per value; long arrays summarised as type, length and first items.
fn show(v: &MetaValue) -> String {
    match v {
        MetaValue::Array(arr) => show_array(arr),
        MetaValue::String(s) if s.len() > 80 => format!("{:?}... ({} chars)", &s[..s.floor_char_boundary(60)], s.len()),
        MetaValue::String(s) => format!("{s:?}"),
        MetaValue::Bool(b) => b.to_string(),
        MetaValue::F32(x) => x.to_string(),
        MetaValue::F64(x) => x.to_string(),
        other => other.as_int().map_or_else(|| format!("{other:?}"), |i| i.to_string()),
    }
}

fn show_array(arr: &MetaArray) -> String {
    format!("{} [{} items]", arr.type_name(), arr.len())
}
