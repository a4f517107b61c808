using AttnEval.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// Scaled dot-product attention shared by the Llama and GPT-2 attention modules, after their projections
/// and positional encoding. Fused SDPA when the layer has no capture or intervention; otherwise the eager
/// path: float32 scores and softmax computed in query chunks (each chunk ≤ the block budget), head
/// interventions applied (q, then pattern, then z; request order inside each group), post-softmax rows
/// copied to a managed buffer and handed to the layer's reducers chunk by chunk, then freed.
/// </summary>
internal static class AttentionCore
{
    /// <summary>Attention output z (before W_O), <c>[B, H, Tq, D]</c> in q's dtype.</summary>
    /// <param name="q">Queries after RoPE, <c>[B, H, Tq, D]</c>.</param>
    /// <param name="k">Keys of every visible position (cache included), <c>[B, Hkv, Tk, D]</c>.</param>
    /// <param name="v">Values, <c>[B, Hkv, Tk, D]</c>.</param>
    /// <param name="past">Absolute position of the first query (= Tk − Tq).</param>
    /// <param name="mask">Optional extra mask, bool (true = may attend) or additive float, broadcastable to <c>[B, H, Tq, Tk]</c>; combined with the causal mask.</param>
    /// <param name="layer">Layer index (for capture and interventions).</param>
    /// <param name="control">The call's captures and interventions, or null.</param>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int past, Tensor? mask, int layer, CallControl? control)
    {
        long b = q.shape[0], h = q.shape[1], tq = q.shape[2], d = q.shape[3], tk = k.shape[2];
        int groups = (int)(h / k.shape[1]);
        if (groups > 1) { k = k.repeat_interleave(groups, 1); v = v.repeat_interleave(groups, 1); }   // [B, H, Tk, D]
        if (control is null || !control.NeedsEager(layer))
        {
            if (mask is null && past == 0 && tq > 1) return nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
            if (mask is null && tq == 1) return nn.functional.scaled_dot_product_attention(q, k, v);
            return nn.functional.scaled_dot_product_attention(q, k, v, CombinedMask(mask, past, tq, tk, q.device, 0, tq, q.dtype));
        }
        return Eager(q, k, v, past, mask, layer, control, b, h, tq, d, tk);
    }

    private static Tensor Eager(Tensor q, Tensor k, Tensor v, int past, Tensor? mask, int layer, CallControl control, long b, long h, long tq, long d, long tk)
    {
        var interventions = control.Interventions(layer);
        var reducers = control.Reducers(layer);
        var qf = AsFloat32(q);
        var kf = AsFloat32(k).transpose(2, 3);                                // [B, H, D, Tk]
        var vf = AsFloat32(v);

        // q interventions: q_h ← ε·q_h (RoPE is linear, so before or after it is the same), on the rows at or after FromPosition.
        var qScale = Factors(interventions, iv => iv is ScaleQuery sq ? (float)sq.Epsilon : null, h, past, tq);
        if (qScale is not null) qf = qf * tensor(qScale, device: q.device).view(1, h, tq, 1);

        double scale = 1.0 / Math.Sqrt(d);
        long chunk = Math.Max(1, control.BlockBudgetBytes / Math.Max(1, b * h * tk * sizeof(float)));
        var outputs = new List<Tensor>();
        for (long q0 = 0; q0 < tq; q0 += chunk)
        {
            using var scope = NewDisposeScope();
            long c = Math.Min(chunk, tq - q0);
            var scores = (c == tq ? qf : qf.narrow(2, q0, c)).matmul(kf).mul_(scale);       // [B, H, c, Tk]
            Tensor allowed;
            if (c == 1 && past + q0 == tk - 1 && mask is { dtype: ScalarType.Bool } && interventions.Count == 0)
            {
                // A decode step: its one query sees every cached key, so only the extra (padding) mask applies.
                allowed = RowSlice(mask, q0, c, tq);
                scores = scores.masked_fill(allowed.logical_not(), double.NegativeInfinity);
            }
            else if (c == 1 && past + q0 == tk - 1 && mask is null)
            {
                allowed = ones(c, tk, ScalarType.Bool, q.device);
            }
            else
            {
                allowed = CausalAllowed(past, q0, c, tk, q.device);                        // [c, Tk] bool
                if (mask is not null)
                {
                    var m = RowSlice(mask, q0, c, tq);
                    if (m.dtype == ScalarType.Bool) allowed = allowed.logical_and(m);
                    else scores = scores + m.to(ScalarType.Float32);
                }
                scores = scores.masked_fill(allowed.logical_not(), double.NegativeInfinity);
            }
            var w = nn.functional.softmax(scores, -1);                                      // [B, H, c, Tk] float32
            if (interventions.Count > 0) w = ApplyPatternInterventions(w, allowed, interventions, h, tk, past + q0, q.device);
            if (control.Routes is { } routes ? routes.Any(r => r.Wants(layer)) : reducers.Count > 0) Deliver(w, reducers, control, layer, past + (int)q0);
            var z = w.matmul(vf);                                                           // [B, H, c, D]
            outputs.Add(z.MoveToOuterDisposeScope());
        }
        var zAll = outputs.Count == 1 ? outputs[0] : cat(outputs, 2);                       // [B, H, Tq, D]
        if (interventions.Count > 0) zAll = ApplyOutputInterventions(zAll, interventions, h, d, past, q.device);
        return zAll.dtype == q.dtype ? zAll : zAll.to(q.dtype);
    }

    private static Tensor AsFloat32(Tensor t) => t.dtype == ScalarType.Float32 ? t : t.to(ScalarType.Float32);

    /// <summary>allowed[i, j] = key j ≤ query position past + q0 + i, <c>[c, Tk]</c>.</summary>
    private static Tensor CausalAllowed(int past, long q0, long c, long tk, Device device) =>
        ones(c, tk, ScalarType.Bool, device).tril(past + q0);

    private static Tensor RowSlice(Tensor mask, long q0, long c, long tq) =>
        mask.shape[^2] == tq ? mask.narrow(mask.dim() - 2, q0, c) : mask;

    /// <summary>The causal mask merged with an extra mask, for SDPA: bool or additive over <c>[.., c, Tk]</c>.</summary>
    private static Tensor CombinedMask(Tensor? mask, int past, long tq, long tk, Device device, long q0, long c, ScalarType dtype)
    {
        var allowed = CausalAllowed(past, q0, c, tk, device);
        if (mask is null) return allowed;
        if (mask.dtype == ScalarType.Bool) return allowed.logical_and(mask);
        return mask.to(dtype).masked_fill(allowed.logical_not(), double.NegativeInfinity);
    }

    /// <summary>Per-head, per-row multipliers <c>[H × Tq]</c> (row-major) of the scaling interventions that
    /// <paramref name="factor"/> picks, each on the rows at or after its <see cref="HeadIntervention.FromPosition"/>;
    /// null when no row is scaled.</summary>
    private static float[]? Factors(IReadOnlyList<HeadIntervention> interventions, Func<HeadIntervention, float?> factor, long h, long past, long tq)
    {
        float[]? f = null;
        foreach (var iv in interventions)
        {
            if (factor(iv) is not { } e) continue;
            f ??= Enumerable.Repeat(1f, (int)(h * tq)).ToArray();
            for (long i = Math.Max(0, iv.FromPosition - past); i < tq; i++) f[iv.Head.Head * tq + i] *= e;
        }
        return f;
    }

    /// <summary>Rows <c>[1, 1, c, 1]</c> of a chunk whose first query is at absolute position <paramref name="first"/> on
    /// which <paramref name="iv"/> acts; null when it acts on all of them.</summary>
    private static Tensor? ActiveRows(HeadIntervention iv, long first, long c, Device device) =>
        iv.FromPosition <= first ? null : (arange(first, first + c, device: device) >= iv.FromPosition).view(1, 1, c, 1);

    private static Tensor ApplyPatternInterventions(Tensor w, Tensor allowed, IReadOnlyList<HeadIntervention> interventions, long h, long tk, long first, Device device)
    {
        foreach (var iv in interventions)
        {
            Tensor? replaced = iv switch
            {
                // U[i, j] = 1/(number of visible keys) = 1/(i+1) under the plain causal mask.
                UniformAttention => allowed.to(ScalarType.Float32) / allowed.sum(-1, keepdim: true, type: ScalarType.Float32),
                ReweightColumns rc => Reweight(w, rc, tk, device),
                _ => null,
            };
            if (replaced is null) continue;
            var headMask = zeros(h, ScalarType.Bool, device);
            headMask[iv.Head.Head] = tensor(true);
            var on = headMask.view(1, h, 1, 1);
            if (ActiveRows(iv, first, w.shape[2], device) is { } rows) on = on.logical_and(rows);
            w = where(on, replaced.expand_as(w), w);
        }
        return w;
    }

    /// <summary>Columns S scaled by β, freed mass (1−β)·Σ_S given to the other columns in proportion to their weight.
    /// Rows with no weight outside S keep their original weights (nothing to give the mass to).</summary>
    private static Tensor Reweight(Tensor w, ReweightColumns rc, long tk, Device device)
    {
        var cols = new float[tk];
        foreach (var col in rc.Columns) if (col >= 0 && col < tk) cols[col] = 1f;
        var inS = tensor(cols, device: device);                                      // [Tk]
        var massS = (w * inS).sum(-1, keepdim: true);                                // [B, H, c, 1]
        var massO = (w * (1 - inS)).sum(-1, keepdim: true);
        var gain = 1 + (1 - rc.Beta) * massS / massO.clamp_min(1e-30);
        var nw = w * inS * rc.Beta + w * (1 - inS) * gain;
        return where(massO > 0, nw, w);
    }

    private static Tensor ApplyOutputInterventions(Tensor z, IReadOnlyList<HeadIntervention> interventions, long h, long d, long past, Device device)
    {
        long tq = z.shape[2];
        foreach (var iv in interventions)
        {
            switch (iv)
            {
                case ScaleOutput so: z = z * tensor(Factors([iv], _ => (float)so.Epsilon, h, past, tq)!, device: device).view(1, h, tq, 1); break;
                case ZeroOutput: z = z * tensor(Factors([iv], _ => 0f, h, past, tq)!, device: device).view(1, h, tq, 1); break;
                case MeanOutput mo:
                    var headMask = zeros(h, ScalarType.Bool, device);
                    headMask[iv.Head.Head] = tensor(true);
                    var on = headMask.view(1, h, 1, 1);
                    if (ActiveRows(iv, past, tq, device) is { } rows) on = on.logical_and(rows);
                    var mean = tensor(mo.Mean.ToArray(), device: device).view(1, 1, 1, d).expand(1, h, 1, d);
                    z = where(on, mean, z);
                    break;
            }
        }
        return z;
    }

    /// <summary>Copies a chunk of rows <c>[B, H, c, Tk]</c> to the managed buffer and hands each batch row's block to its
    /// reducers: the call's <paramref name="reducers"/> with <see cref="AttentionRowBlock.Sequence"/> = the row, or, in a
    /// batched call over several requests, the row's <see cref="RowRoute"/> reducers in that request's coordinates — left
    /// padding (<see cref="RowRoute.Offset"/>) and right padding (past <see cref="RowRoute.Length"/>) cut from queries and
    /// keys, positions shifted so the request starts at 0. Real rows carry no weight on cut keys (padding before the
    /// request is masked; padding after it is in the causal future). Finished rows are skipped.</summary>
    private static void Deliver(Tensor w, IReadOnlyList<IAttentionRowReducer> reducers, CallControl control, int layer, int queryStart)
    {
        long b = w.shape[0], h = w.shape[1], c = w.shape[2], tk = w.shape[3];
        if (control.Buffer.Length < b * h * c * tk) control.Buffer = new float[b * h * c * tk];
        using (var cpuRows = w.cpu().contiguous()) cpuRows.data<float>().CopyTo(control.Buffer);
        int per = (int)(h * c * tk);
        for (int s = 0; s < b; s++)
        {
            var route = control.Routes?[s];
            IReadOnlyList<IAttentionRowReducer>? targets = route is null ? reducers : route.At(layer);
            if (targets is null || targets.Count == 0) continue;
            if (control.Finished is { } done && s < done.Length && done[s]) continue;
            int offset = route?.Offset ?? 0;
            long end = route is null || route.Length == int.MaxValue ? long.MaxValue : (long)offset + route.Length;
            int lo = Math.Max(queryStart, offset), hi = (int)Math.Min(queryStart + c, end);
            if (lo >= hi) continue;
            int keys = (int)(Math.Min(tk, end) - offset), rows = hi - lo;
            ReadOnlySpan<float> data;
            if (offset == 0 && keys == tk && lo == queryStart && rows == c) data = control.Buffer.AsSpan(s * per, per);
            else
            {
                int size = (int)h * rows * keys;
                if (control.Scratch.Length < size) control.Scratch = new float[size];
                for (int hh = 0; hh < h; hh++)
                    for (int i = 0; i < rows; i++)
                        control.Buffer.AsSpan(s * per + (int)((hh * c + lo - queryStart + i) * tk) + offset, keys)
                            .CopyTo(control.Scratch.AsSpan((hh * rows + i) * keys, keys));
                data = control.Scratch.AsSpan(0, size);
            }
            var block = new AttentionRowBlock(route?.Sequence ?? s, layer, lo - offset, rows, (int)h, keys, data);
            foreach (var r in targets) r.Accept(block);
        }
    }
}
