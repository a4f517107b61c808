using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>GPT-2 "Conv1D": a linear layer whose weight is stored <c>[in, out]</c> (transposed w.r.t. nn.Linear). y = x·W + b.</summary>
internal sealed class Conv1D : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Parameter weight, bias;
#pragma warning restore IDE1006

    public Conv1D(long inFeatures, long outFeatures, Device? device) : base(nameof(Conv1D))
    {
        weight = new Parameter(empty(inFeatures, outFeatures, device: device).normal_(0, 0.02));
        bias = new Parameter(zeros(outFeatures, device: device));
        RegisterComponents();
    }

    /// <param name="x"><c>[B, T, in]</c> → <c>[B, T, out]</c>.</param>
    public override Tensor forward(Tensor x) => x.matmul(weight) + bias;
}

/// <summary>GPT-2 attention: fused <c>c_attn [d, 3d]</c> → q, k, v; <c>c_proj [d, d]</c>. No positional rotation.</summary>
internal sealed class Gpt2Attention : nn.Module
{
#pragma warning disable IDE1006
    private readonly Conv1D c_attn, c_proj;
#pragma warning restore IDE1006
    private readonly int _layer, _heads, _headDim;

    public Gpt2Attention(Gpt2Config c, int layer, Device? device) : base(nameof(Gpt2Attention))
    {
        _layer = layer; _heads = c.NHead; _headDim = c.NEmbd / c.NHead;
        c_attn = new Conv1D(c.NEmbd, 3 * c.NEmbd, device);
        c_proj = new Conv1D(c.NEmbd, c.NEmbd, device);
        RegisterComponents();
    }

    /// <param name="x">LayerNormed residual <c>[B, T, d]</c>.</param>
    /// <param name="a">Mask, cache, control.</param>
    /// <returns><c>[B, T, d]</c>.</returns>
    public Tensor Forward(Tensor x, AttentionInputs a)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var qkv = c_attn.forward(x).split(d, 2);                                          // 3 × [B, T, d]
        var q = qkv[0].view(b, t, _heads, _headDim).transpose(1, 2);                      // [B, H, T, D]
        var k = qkv[1].view(b, t, _heads, _headDim).transpose(1, 2);
        var v = qkv[2].view(b, t, _heads, _headDim).transpose(1, 2);
        int past = a.Past;
        if (a.Cache is not null) (k, v) = a.Cache.Append(_layer, k, v);                  // [B, H, past+T, D]
        var z = AttentionCore.Attend(q, k, v, past, a.Mask, _layer, a.Control);            // [B, H, T, D]
        return c_proj.forward(z.transpose(1, 2).reshape(b, t, d)).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 MLP: <c>c_proj(gelu_tanh(c_fc(x)))</c>, <c>c_fc [d, 4d]</c>, <c>c_proj [4d, d]</c>.</summary>
internal sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Conv1D c_fc, c_proj;
#pragma warning restore IDE1006

    public Gpt2Mlp(Gpt2Config c, Device? device) : base(nameof(Gpt2Mlp))
    {
        c_fc = new Conv1D(c.NEmbd, c.NInner, device);
        c_proj = new Conv1D(c.NInner, c.NEmbd, device);
        RegisterComponents();
    }

    /// <summary>gelu_new = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = c_fc.forward(x);
        var gelu = 0.5 * h * (1 + tanh(Math.Sqrt(2 / Math.PI) * (h + 0.044715 * h.pow(3))));
        return c_proj.forward(gelu).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 block: <c>x += attn(ln_1(x)); x += mlp(ln_2(x))</c>.</summary>
internal sealed class Gpt2Block : nn.Module
{
#pragma warning disable IDE1006
    private readonly LayerNorm ln_1, ln_2;
    private readonly Gpt2Attention attn;
    private readonly Gpt2Mlp mlp;
#pragma warning restore IDE1006

    public Gpt2Block(Gpt2Config c, int layer, Device? device) : base(nameof(Gpt2Block))
    {
        ln_1 = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon, device: device);
        attn = new Gpt2Attention(c, layer, device);
        ln_2 = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon, device: device);
        mlp = new Gpt2Mlp(c, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, AttentionInputs a)
    {
        using var scope = NewDisposeScope();
        var mid = x + attn.Forward(ln_1.forward(x), a);
        return (mid + mlp.forward(ln_2.forward(mid))).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 trunk (HF <c>transformer.*</c>): <c>wte [V, d]</c>, <c>wpe [n_positions, d]</c>, blocks <c>h</c>, <c>ln_f</c>.</summary>
internal sealed class Gpt2Model : nn.Module
{
#pragma warning disable IDE1006
    private readonly Embedding wte, wpe;
    private readonly ModuleList<Gpt2Block> h;
    private readonly LayerNorm ln_f;
#pragma warning restore IDE1006

    public Gpt2Model(Gpt2Config c, Device? device) : base(nameof(Gpt2Model))
    {
        wte = nn.Embedding(c.VocabSize, c.NEmbd, device: device);
        wpe = nn.Embedding(c.NPositions, c.NEmbd, device: device);
        h = new ModuleList<Gpt2Block>(Enumerable.Range(0, c.NLayer).Select(l => new Gpt2Block(c, l, device)).ToArray());
        ln_f = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon, device: device);
        RegisterComponents();
    }

    public Tensor TokenEmbedding => wte.weight!;

    /// <summary>Final hidden states <c>[B, T, d]</c> for ids <c>[B, T]</c> at positions <c>[B, T]</c> or <c>[T]</c>.</summary>
    public Tensor Forward(Tensor ids, Tensor positions, Tensor? mask, KvCache? cache, CallControl? control)
    {
        using var scope = NewDisposeScope();
        var x = wte.forward(ids) + wpe.forward(positions);                  // [B, T, d]
        var a = new AttentionInputs(null, null, mask, cache, control);
        foreach (var block in h) x = block.Forward(x, a);
        cache?.Advance((int)ids.shape[1]);
        return ln_f.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 LM head model (HF <c>GPT2LMHeadModel</c>); the output projection is tied to <c>transformer.wte</c>.</summary>
internal sealed class Gpt2LMHeadModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Gpt2Model transformer;
#pragma warning restore IDE1006

    /// <summary>The token embedding <c>transformer.wte.weight</c> <c>[vocab, d_model]</c>, also the output projection.</summary>
    public Tensor TokenEmbedding => transformer.TokenEmbedding;

    public Gpt2LMHeadModel(Gpt2Config c, Device? device = null) : base(nameof(Gpt2LMHeadModel))
    {
        Config = c;
        transformer = new Gpt2Model(c, device);
        RegisterComponents();
    }

    public Gpt2Config Config { get; }

    public override Tensor forward(Tensor ids) => Run(ids, null, null, null, null);

    public Tensor Run(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache, CallControl? control)
    {
        using var scope = NewDisposeScope();
        int past = cache?.Length ?? 0;
        positions ??= arange(past, past + ids.shape[1], ScalarType.Int64, ids.device);
        var x = transformer.Forward(ids, positions, mask, cache, control);
        control?.OfferFinalHidden(x);
        return x.matmul(transformer.TokenEmbedding.t()).to(ScalarType.Float32).MoveToOuterDisposeScope();   // [B, T, V]
    }

    /// <summary>Maps HF GPT-2 checkpoint keys (with or without the <c>transformer.</c> prefix) to parameter names;
    /// drops the causal-mask buffers and the tied <c>lm_head.weight</c>.</summary>
    public static string? MapKey(string key)
    {
        if (key.EndsWith(".attn.bias", StringComparison.Ordinal) || key.EndsWith(".attn.masked_bias", StringComparison.Ordinal) || key == "lm_head.weight") return null;
        return key.StartsWith("transformer.", StringComparison.Ordinal) ? key : "transformer." + key;
    }
}
