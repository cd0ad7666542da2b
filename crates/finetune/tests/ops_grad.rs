//! Every op's backward against central finite differences of L = sum(out * R) with random R, on
//! random inputs and odd shapes. The ops run in f32: with step h = 1e-2 the truncation error is
//! O(h^2) ~ 1e-4 and the rounding error ~ 1e-7 |L| / h ~ 1e-4, so analytic and numeric gradients
//! must agree within 1e-2 of the largest gradient entry (a wrong term or sign is off by O(1)).

mod common;

use finetune::ops::attention::{self, Shape};
use finetune::ops::linear::{Frozen, Transposed};
use finetune::ops::lora::{self, Dropout};
use finetune::ops::xent::Head;
use finetune::ops::{gemm, mlp, norm, rope};
use finetune::rng::Rng;
use finetune::{LoraConfig, LoraModule, Target};
use kernels::matmul::QMatrix;
use kernels::pool::ThreadPool;
use kernels::GgmlType;
use models::layers::{Activation, Linear, Rope, RopeStyle};
use weights::Tensor;

const H: f32 = 1e-2;
const TOL: f32 = 1e-2;

fn rand(rng: &mut Rng, n: usize, s: f32) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-s, s)).collect()
}

fn dotf(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Numeric gradient of `f` at x (every coordinate).
fn numeric(x: &[f32], f: &dyn Fn(&[f32]) -> f64) -> Vec<f32> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let v = xp[i];
            xp[i] = v + H;
            let a = f(&xp);
            xp[i] = v - H;
            let b = f(&xp);
            xp[i] = v;
            ((a - b) / (2.0 * H as f64)) as f32
        })
        .collect()
}

fn assert_close(what: &str, ana: &[f32], num: &[f32]) {
    let e = common::rel_err(ana, num);
    assert!(e < TOL, "{what}: analytic vs numeric gradient differ by {e} of the largest entry");
    assert!(num.iter().any(|&v| v.abs() > 1e-3), "{what}: the gradient is all but zero, the test could not fail");
}

#[test]
fn rms_norm_backward() {
    let mut rng = Rng::new(1);
    let (rows, d) = (3, 7);
    let x = rand(&mut rng, rows * d, 2.0);
    let w = rand(&mut rng, d, 1.5);
    let r = rand(&mut rng, rows * d, 1.0);
    for fused in [false, true] {
        let f = |x: &[f32]| {
            let (mut o, mut inv) = (vec![0.0; rows * d], vec![0.0; rows]);
            if fused {
                norm::forward_fused(x, &w, 1e-6, &mut o, &mut inv);
            } else {
                norm::forward(x, &w, 1e-6, &mut o, &mut inv);
            }
            dotf(&o, &r)
        };
        let (mut o, mut inv) = (vec![0.0; rows * d], vec![0.0; rows]);
        norm::forward(&x, &w, 1e-6, &mut o, &mut inv);
        let mut dx = vec![0.5; rows * d];
        norm::backward(&x, &w, &inv, &r, &mut dx, false);
        assert_close("rms norm", &dx, &numeric(&x, &f));
    }
}

#[test]
fn rope_backward_both_styles() {
    let mut rng = Rng::new(2);
    let hd = 10;
    for (style, rot_dim, ff, af) in [(RopeStyle::Neox, 10, None, 1.0), (RopeStyle::Normal, 10, Some(vec![1.0, 2.0, 4.0, 8.0, 1.5]), 1.0), (RopeStyle::Neox, 6, Some(vec![1.0, 3.0, 0.5]), 1.3), (RopeStyle::Normal, 6, None, 0.8)] {
        let r = Rope { rot_dim, base: 100.0, style, freq_factors: ff, attn_factor: af };
        let mut t = vec![0.0; rot_dim * 4];
        r.fill_table(0, 4, &mut t);
        let row = &t[3 * rot_dim..4 * rot_dim];
        let x = rand(&mut rng, hd, 1.0);
        let rr = rand(&mut rng, hd, 1.0);
        let f = |x: &[f32]| {
            let mut y = x.to_vec();
            r.apply(&mut y, row);
            dotf(&y, &rr)
        };
        let mut dx = rr.clone();
        rope::backward(&r, &mut dx, row);
        assert_close(&format!("rope {style:?} rot {rot_dim}"), &dx, &numeric(&x, &f));
    }
}

#[test]
fn attention_backward_gqa_window_softcap_packed() {
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(3);
    let docs = vec![(0, 5), (5, 1), (6, 4)];
    let n = 10;
    for (window, softcap) in [(None, None), (Some(3), Some(2.0)), (Some(2), None)] {
        let sh = Shape { n_head: 4, n_kv_head: 2, head_dim: 3, scale: 0.7, window, softcap };
        let (qd, kd) = (4 * 3, 2 * 3);
        let q = rand(&mut rng, n * qd, 1.5);
        let k = rand(&mut rng, n * kd, 1.5);
        let v = rand(&mut rng, n * kd, 1.0);
        let r = rand(&mut rng, n * qd, 1.0);
        let run = |q: &[f32], k: &[f32], v: &[f32]| {
            let mut o = vec![0.0; n * qd];
            attention::forward(&pool, &sh, q, k, v, &docs, n, &mut o);
            dotf(&o, &r)
        };
        let (mut dq, mut dk, mut dv) = (vec![9.0; n * qd], vec![9.0; n * kd], vec![9.0; n * kd]);
        attention::backward(&pool, &sh, &q, &k, &v, &docs, n, &r, &mut dq, &mut dk, &mut dv);
        let what = format!("attention window {window:?} softcap {softcap:?}");
        assert_close(&format!("{what} dq"), &dq, &numeric(&q, &|x| run(x, &k, &v)));
        assert_close(&format!("{what} dk"), &dk, &numeric(&k, &|x| run(&q, x, &v)));
        assert_close(&format!("{what} dv"), &dv, &numeric(&v, &|x| run(&q, &k, x)));
    }
}

#[test]
fn attention_never_crosses_documents() {
    // Each packed document's output equals that document run alone.
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(4);
    let sh = Shape { n_head: 2, n_kv_head: 1, head_dim: 4, scale: 0.5, window: Some(3), softcap: None };
    let n = 9;
    let (q, k, v) = (rand(&mut rng, n * 8, 1.0), rand(&mut rng, n * 4, 1.0), rand(&mut rng, n * 4, 1.0));
    let mut packed = vec![0.0; n * 8];
    attention::forward(&pool, &sh, &q, &k, &v, &[(0, 4), (4, 5)], n, &mut packed);
    for (s, len) in [(0usize, 4usize), (4, 5)] {
        let mut alone = vec![0.0; len * 8];
        attention::forward(&pool, &sh, &q[s * 8..(s + len) * 8], &k[s * 4..(s + len) * 4], &v[s * 4..(s + len) * 4], &[(0, len)], len, &mut alone);
        assert_eq!(&packed[s * 8..(s + len) * 8], &alone[..], "document at {s}");
    }
}

#[test]
fn gated_activations_backward() {
    let mut rng = Rng::new(5);
    let n = 37;
    let mut g = rand(&mut rng, n, 4.0);
    g[0] = 0.0;
    g[1] = 1e-4;
    g[2] = -20.0;
    let u = rand(&mut rng, n, 2.0);
    let r = rand(&mut rng, n, 1.0);
    for act in [Activation::GeluTanh, Activation::Silu] {
        let f = |g: &[f32], u: &[f32]| dotf(&mlp::forward(act, g, u).unwrap(), &r);
        let (mut dg, mut du) = (vec![0.0; n], vec![0.0; n]);
        mlp::backward(act, &g, &u, &r, &mut dg, &mut du);
        assert_close(&format!("{act:?} dg"), &dg, &numeric(&g, &|x| f(x, &u)));
        assert_close(&format!("{act:?} du"), &du, &numeric(&u, &|x| f(&g, x)));
        // The division trick agrees with the closed-form derivative everywhere.
        for (i, &x) in g.iter().enumerate() {
            let want = r[i] * u[i] * mlp::act_and_grad(act, x).1;
            assert!((dg[i] - want).abs() <= 1e-5 * (1.0 + want.abs()), "{act:?} at {x}: {} vs {want}", dg[i]);
        }
    }
    assert!(mlp::forward(Activation::Gelu, &g, &u).is_err());
}

fn module(rng: &mut Rng, rows: usize, cols: usize, r: usize) -> LoraModule {
    LoraModule { layer: 0, target: Target::Up, rows, cols, r, a: rand(rng, r * cols, 0.5), b: rand(rng, rows * r, 0.5) }
}

#[test]
fn lora_backward_with_and_without_dropout() {
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(6);
    let (n, rows, cols, r, scale) = (5, 7, 9, 3, 1.7);
    let m0 = module(&mut rng, rows, cols, r);
    let x = rand(&mut rng, n * cols, 1.0);
    let ry = rand(&mut rng, n * rows, 1.0);
    for drop in [None, Some(Dropout { p: 0.3, seed: 99 })] {
        let f = |m: &LoraModule, x: &[f32]| {
            let mut y = vec![0.0; n * rows];
            lora::forward(&pool, m, scale, x, n, drop, &mut y);
            dotf(&y, &ry)
        };
        let mut y = vec![0.0; n * rows];
        let saved = lora::forward(&pool, &m0, scale, &x, n, drop, &mut y);
        let mut g = LoraModule { a: vec![0.0; r * cols], b: vec![0.0; rows * r], ..m0.clone() };
        let mut dx = vec![0.0; n * cols];
        lora::backward(&pool, &m0, scale, &saved, &x, &ry, n, drop, &mut g, &mut dx);
        let na = numeric(&m0.a, &|a| f(&LoraModule { a: a.to_vec(), ..m0.clone() }, &x));
        let nb = numeric(&m0.b, &|b| f(&LoraModule { b: b.to_vec(), ..m0.clone() }, &x));
        assert_close(&format!("lora dA {drop:?}"), &g.a, &na);
        assert_close(&format!("lora dB {drop:?}"), &g.b, &nb);
        assert_close(&format!("lora dX {drop:?}"), &dx, &numeric(&x, &|x| f(&m0, x)));
    }
}

#[test]
fn small_gemms_match_naive_products() {
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(7);
    for (n, p, q) in [(5, 3, 70), (6, 33, 4), (1, 1, 1)] {
        let a = rand(&mut rng, n * p, 1.0);
        let b = rand(&mut rng, n * q, 1.0);
        let mut c = vec![0.25; p * q];
        gemm::gemm_tn(&pool, &a, &b, n, p, q, 2.0, &mut c);
        for i in 0..p {
            for j in 0..q {
                let want = 0.25 + 2.0 * (0..n).map(|t| a[t * p + i] * b[t * q + j]).sum::<f32>();
                assert!((c[i * q + j] - want).abs() < 1e-4, "gemm_tn {n}x{p}x{q}");
            }
        }
        let bb = rand(&mut rng, p * q, 1.0);
        let mut c = vec![0.5; n * q];
        gemm::gemm_nn(&pool, &a, &bb, n, p, q, -1.0, &mut c);
        for t in 0..n {
            for j in 0..q {
                let want = 0.5 - (0..p).map(|k| a[t * p + k] * bb[k * q + j]).sum::<f32>();
                assert!((c[t * q + j] - want).abs() < 1e-4, "gemm_nn {n}x{p}x{q}");
            }
        }
    }
}

fn f32_linear(w: &[f32], rows: usize, cols: usize) -> Linear {
    let bytes = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    Linear::new(Tensor::from_owned("test.weight", GgmlType::F32, vec![cols, rows], bytes), cols, rows).unwrap()
}

#[test]
fn frozen_backward_is_exact_for_float_and_close_for_q8_0() {
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(8);
    let (n, rows, cols) = (3, 96, 64);
    let w = rand(&mut rng, rows * cols, 1.0);
    let dy = rand(&mut rng, n * rows, 1.0);
    let want: Vec<f32> = (0..n * cols).map(|i| (0..rows).map(|o| dy[(i / cols) * rows + o] * w[o * cols + i % cols]).sum()).collect();
    let lin = f32_linear(&w, rows, cols);
    let fr = Frozen::new(&lin).unwrap();
    let mut dx = vec![0.0; n * cols];
    fr.backward(&pool, &dy, n, &mut dx);
    assert!(common::rel_err(&dx, &want) < 1e-6);
    assert_eq!(fr.extra_bytes(), rows * cols * 4);
    // A quantized base: its transposed copy is Q8_0 (rows a multiple of 32).
    let mut q = vec![0u8; GgmlType::Q8_0.row_bytes(cols).unwrap() * rows];
    for (o, dst) in q.chunks_exact_mut(GgmlType::Q8_0.row_bytes(cols).unwrap()).enumerate() {
        kernels::quant::quantize_row(GgmlType::Q8_0, &w[o * cols..(o + 1) * cols], dst).unwrap();
    }
    let qm = QMatrix::new(GgmlType::Q8_0, &q, rows, cols).unwrap();
    let t = Transposed::build(&qm, 0, rows).unwrap();
    assert_eq!(t.ty, GgmlType::Q8_0);
    let mut dxq = vec![0.0; n * cols];
    kernels::matmul::matmul(&pool, &t.matrix(), &dy, n, &mut dxq);
    let e = common::rel_err(&dxq, &want);
    assert!(e < 0.03, "Q8_0 transposed backward off by {e}");
}

#[test]
fn chunked_cross_entropy_loss_and_gradient() {
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(9);
    // 100 vocab rows in chunks of 32 (the last one partial), with and without a logit soft-cap.
    let (nv, d, m) = (100, 6, 4);
    let w = rand(&mut rng, nv * d, 1.0);
    let lin = f32_linear(&w, nv, d);
    let h = rand(&mut rng, m * d, 2.0);
    let tgt = [3u32, 99, 32, 64];
    for cap in [None, Some(3.0)] {
        let head = Head::new(&lin, cap, 32).unwrap();
        let full = |h: &[f32]| -> f64 {
            (0..m)
                .map(|i| {
                    let z: Vec<f64> = (0..nv)
                        .map(|v| {
                            let s = dotf(&h[i * d..(i + 1) * d], &w[v * d..(v + 1) * d]);
                            cap.map_or(s, |c| c as f64 * (s / c as f64).tanh())
                        })
                        .collect();
                    let mx = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    mx + z.iter().map(|v| (v - mx).exp()).sum::<f64>().ln() - z[tgt[i] as usize]
                })
                .sum()
        };
        let mut dh = vec![0.0; m * d];
        let loss = head.loss(&pool, &h, &tgt, Some(&mut dh)).unwrap();
        let want = full(&h);
        assert!((loss - want).abs() < 1e-5 * want.abs(), "cap {cap:?}: loss {loss} vs {want}");
        assert!((head.loss(&pool, &h, &tgt, None).unwrap() - loss).abs() < 1e-9 * loss.abs());
        assert_close(&format!("cross-entropy cap {cap:?}"), &dh, &numeric(&h, &|x| full(x)));
    }
}

#[test]
fn init_is_peft_like() {
    let root = common::root();
    let (model, _src) = models::load_model(&root.join("testdata/tiny-llama/model-f32.gguf")).unwrap();
    let view = model.train_view().unwrap();
    let cfg = LoraConfig { r: 4, alpha: 8.0, dropout: 0.0, targets: vec![Target::Down, Target::Q] };
    let p = finetune::init::init_params(&view, &cfg, 1).unwrap();
    let order: Vec<(usize, Target)> = p.modules.iter().map(|m| (m.layer, m.target)).collect();
    assert_eq!(order, vec![(0, Target::Q), (0, Target::Down), (1, Target::Q), (1, Target::Down)]);
    for m in &p.modules {
        let bound = 1.0 / (m.cols as f32).sqrt();
        assert!(m.b.iter().all(|&v| v == 0.0));
        assert!(m.a.iter().all(|&v| v.abs() <= bound));
        assert!(m.a.iter().fold(0.0f32, |a, &v| a.max(v.abs())) > 0.8 * bound, "A spans its range");
    }
    assert_eq!(p, finetune::init::init_params(&view, &cfg, 1).unwrap());
    assert_ne!(p, finetune::init::init_params(&view, &cfg, 2).unwrap());
    assert!(finetune::init::init_params(&view, &LoraConfig { r: 0, ..cfg }, 1).is_err());
}

/// Plain per-pair attention for one query row (the definition), f64.
fn naive_attention(sh: &Shape, q: &[f32], k: &[f32], v: &[f32], docs: &[(usize, usize)], n: usize) -> Vec<f32> {
    let (hd, nh, nkv) = (sh.head_dim, sh.n_head, sh.n_kv_head);
    let mut out = vec![0.0f32; n * nh * hd];
    for &(s, len) in docs {
        for i in 0..len {
            let first = sh.window.map_or(0, |w| (i + 1).saturating_sub(w));
            for h in 0..nh {
                let kvh = h / (nh / nkv);
                let qr = &q[((s + i) * nh + h) * hd..][..hd];
                let sc: Vec<f64> = (first..=i).map(|j| dotf(qr, &k[((s + j) * nkv + kvh) * hd..][..hd]) * sh.scale as f64).collect();
                let mx = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = sc.iter().map(|x| (x - mx).exp()).sum();
                for (jj, j) in (first..=i).enumerate() {
                    let p = (sc[jj] - mx).exp() / z;
                    for d in 0..hd {
                        out[((s + i) * nh + h) * hd + d] += (p * v[((s + j) * nkv + kvh) * hd + d] as f64) as f32;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn attention_matches_the_definition_at_model_sizes() {
    let pool = ThreadPool::new(2);
    let mut rng = Rng::new(10);
    let docs = vec![(0, 40), (40, 24)];
    let n = 64;
    let sh = Shape { n_head: 4, n_kv_head: 1, head_dim: 256, scale: 1.0 / 16.0, window: Some(30), softcap: None };
    let q = rand(&mut rng, n * 4 * 256, 2.0);
    let k = rand(&mut rng, n * 256, 2.0);
    let v = rand(&mut rng, n * 256, 1.0);
    let mut out = vec![0.0; n * 4 * 256];
    attention::forward(&pool, &sh, &q, &k, &v, &docs, n, &mut out);
    let e = common::rel_err(&out, &naive_attention(&sh, &q, &k, &v, &docs, n));
    assert!(e < 1e-5, "attention differs from its definition by {e}");
}
