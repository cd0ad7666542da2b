//! Whole-model LoRA loss and gradients against PyTorch autograd (transformers + peft, float32):
//! goldens by scripts/make_lora_grad_goldens.py in testdata/lora/<fixture>/grads.*. The two
//! documents the script ran one by one are packed into one batch here, so this also checks that
//! attention stays inside a document and positions restart. Both the HF folder and the F32 GGUF.
//!
//! Tolerance: loss within 1e-6 relative (measured: 2e-7); each gradient tensor within 2e-4 of its largest entry (measured: up to 1.9e-5)
//! (float32 on both sides, different summation orders through 2-6 layers; a wrong term, sign or
//! mask is off by far more).

mod common;

use finetune::{peft, LoraModel, Objective, TrainOptions};
use weights::safetensors::SafetensorsFile;

fn check(fixture: &str, model_file: &str, ckpt: bool) {
    let root = common::root();
    let ad = root.join("testdata/lora").join(fixture);
    let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(ad.join("grads.json")).unwrap()).unwrap();
    let docs: Vec<Vec<u32>> = serde_json::from_value(golden["docs"].clone()).unwrap();
    let skip = golden["skip"].as_u64().unwrap() as usize;
    let want_loss = golden["loss"].as_f64().unwrap();
    let (model, _src) = models::load_model(&root.join("testdata").join(fixture).join(model_file)).expect("load fixture");
    let c = model.config().clone();
    let params = peft::from_peft_dir(&ad, &c.arch, c.n_head, c.n_kv_head).expect("adapter");
    let mut lm = LoraModel::new(&*model, TrainOptions { activation_checkpointing: ckpt, vocab_chunk: 96, threads: 2 }).unwrap();
    let batch = common::pack(&docs, skip);
    let mut grads = params.zeros_like();
    let (loss, count) = lm.loss_and_grad(&batch, &params, &mut grads, true, 1).unwrap();
    assert_eq!(count, docs.iter().map(|d| d.len() - 1 - skip).sum::<usize>());
    assert!(((loss - want_loss) / want_loss).abs() < 1e-6, "{fixture}/{model_file}: loss {loss} want {want_loss}");
    let (eval_loss, _) = lm.loss(&batch, &params).unwrap();
    assert!((eval_loss - loss).abs() < 1e-9 * loss.abs(), "loss() {eval_loss} vs loss_and_grad {loss}");
    let st = SafetensorsFile::open(&ad.join("grads.safetensors")).unwrap();
    let ours = peft::to_peft_tensors(&grads, &c.arch, c.n_head, c.n_kv_head).unwrap();
    assert_eq!(ours.len(), st.names().len(), "one gradient per golden tensor");
    let mut worst = 0.0f32;
    for (name, shape, g) in &ours {
        let t = st.tensor(name).unwrap_or_else(|e| panic!("golden has no {name}: {e}"));
        assert_eq!(st.hf_shape(name).unwrap(), shape.as_slice(), "{name} shape");
        let mut want = vec![0.0f32; t.n_elements()];
        kernels::dequant::dequantize_row(t.ty, t.data(), &mut want).unwrap();
        let e = common::rel_err(g, &want);
        worst = worst.max(e);
        assert!(e < 2e-4, "{fixture}/{model_file}: {name} off by {e} of its largest entry");
    }
    eprintln!("{fixture}/{model_file}: loss {loss} (torch {want_loss}), worst gradient error {worst:.2e} of max");
}

#[test]
fn tiny_llama_hf_matches_pytorch() {
    check("tiny-llama", "", false);
}

#[test]
fn tiny_llama_gguf_matches_pytorch() {
    check("tiny-llama", "model-f32.gguf", true);
}

#[test]
fn tiny_gemma3_hf_matches_pytorch() {
    check("tiny-gemma3", "", true);
}

#[test]
fn tiny_gemma3_gguf_matches_pytorch() {
    check("tiny-gemma3", "model-f32.gguf", false);
}

#[test]
fn peft_round_trip_keeps_the_adapter_values() {
    // from_peft_dir (GGUF row order) then to_peft_tensors (HF order) gives back the file's tensors.
    for fixture in ["tiny-llama", "tiny-gemma3"] {
        let ad = common::root().join("testdata/lora").join(fixture);
        let cfg: weights::hf::HfConfig = weights::hf::HfConfig::from_file(&common::root().join("testdata").join(fixture).join("config.json")).unwrap();
        let arch = cfg.gguf_arch().unwrap();
        let (nh, nkv) = (cfg.num_attention_heads.unwrap(), cfg.kv_heads().unwrap());
        let p = peft::from_peft_dir(&ad, arch, nh, nkv).unwrap();
        assert_eq!(p.config.r, 4);
        assert!((p.config.scale() - 2.0).abs() < 1e-6);
        let st = SafetensorsFile::open(&ad.join("adapter_model.safetensors")).unwrap();
        let ours = peft::to_peft_tensors(&p, arch, nh, nkv).unwrap();
        assert_eq!(ours.len(), st.names().len());
        for (name, _, v) in ours {
            let t = st.tensor(&name).unwrap();
            let mut want = vec![0.0f32; t.n_elements()];
            kernels::dequant::dequantize_row(t.ty, t.data(), &mut want).unwrap();
            assert_eq!(v, want, "{fixture}: {name}");
        }
    }
}
