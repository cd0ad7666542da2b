use finetune::optim::{clip_grad_norm, global_norm, AdamW, AdamWConfig};
use finetune::{LoraConfig, LoraModule, LoraParams, Target};

/// One module whose A holds `a` (r = 1) and whose B is one value.
fn params(a: &[f32], b: f32) -> LoraParams {
    let config = LoraConfig { r: 1, alpha: 1.0, dropout: 0.0, targets: vec![Target::Q] };
    let m = LoraModule { layer: 0, target: Target::Q, rows: 1, cols: a.len(), r: 1, a: a.to_vec(), b: vec![b] };
    LoraParams { config, modules: vec![m] }
}

#[test]
fn two_steps_match_the_hand_computed_update() {
    // p = 1, grads 0.5 then -1, lr 0.1, betas (0.9, 0.999), eps 1e-8, weight decay 0.01:
    // step 1: m = 0.05, v = 2.5e-4, m^ = 0.5, v^ = 0.25, p = 1 * (1 - 0.001) - 0.1 * 0.5 / 0.5 = 0.899
    // step 2: m = -0.055, v = 1.24975e-3, m^ = -0.2894737, v^ = 0.6251876, p = 0.9347114
    let cfg = AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 };
    let mut p = params(&[1.0], 0.0);
    let mut opt = AdamW::new(cfg, &p);
    opt.step(&mut p, &params(&[0.5], 0.0), 0.1);
    assert!((p.modules[0].a[0] - 0.899).abs() < 1e-6, "{}", p.modules[0].a[0]);
    assert!((opt.m.modules[0].a[0] - 0.05).abs() < 1e-7);
    assert!((opt.v.modules[0].a[0] - 2.5e-4).abs() < 2.5e-4 * 1e-4);
    opt.step(&mut p, &params(&[-1.0], 0.0), 0.1);
    assert!((p.modules[0].a[0] - 0.934_711_35).abs() < 1e-6, "{}", p.modules[0].a[0]);
    assert_eq!(opt.step, 2);
    // A zero gradient with zero moments leaves B at 0 (no decay of 0, no step).
    assert_eq!(p.modules[0].b[0], 0.0);
}

#[test]
fn converges_on_a_convex_quadratic() {
    // f(p) = sum_i w_i (p_i - c_i)^2 with different curvatures.
    let c = [3.0f32, -2.0, 0.5, 10.0];
    let w = [1.0f32, 10.0, 0.1, 2.0];
    let mut p = params(&[0.0; 4], 1.0);
    let mut opt = AdamW::new(AdamWConfig::default(), &p);
    let mut g = p.zeros_like();
    for step in 0..3000 {
        let lr = if step < 2000 { 0.05 } else { 0.005 };
        for (i, gi) in g.modules[0].a.iter_mut().enumerate() {
            *gi = 2.0 * w[i] * (p.modules[0].a[i] - c[i]);
        }
        g.modules[0].b[0] = 2.0 * (p.modules[0].b[0] + 1.0);
        opt.step(&mut p, &g, lr);
    }
    for (i, (got, want)) in p.modules[0].a.iter().zip(c).enumerate() {
        assert!((got - want).abs() < 1e-2, "p[{i}] = {got} want {want}");
    }
    assert!((p.modules[0].b[0] + 1.0).abs() < 1e-2);
}

#[test]
fn clipping_scales_to_the_max_norm_and_returns_the_old_norm() {
    let mut g = params(&[3.0, 0.0], 4.0);
    let n = clip_grad_norm(&mut g, 1.0);
    assert!((n - 5.0).abs() < 1e-6);
    assert!((global_norm(&g) - 1.0).abs() < 1e-5);
    assert!((g.modules[0].a[0] - 0.6).abs() < 1e-5 && (g.modules[0].b[0] - 0.8).abs() < 1e-5);
    // Below the limit: untouched.
    let mut small = params(&[0.3, 0.0], 0.4);
    assert!((clip_grad_norm(&mut small, 1.0) - 0.5).abs() < 1e-6);
    assert_eq!(small.modules[0].a[0], 0.3);
}
