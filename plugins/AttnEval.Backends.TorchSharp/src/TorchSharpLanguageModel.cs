using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Modeling;
using AttnEval.Decoding;
using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp;

/// <summary>
/// <see cref="ILanguageModel"/> over a TorchSharp decoder: KV-cache generation (greedy or seeded sampling, batched
/// sequences), teacher-forced scoring, attention rows streamed to reducers and head interventions for one call.
/// </summary>
internal sealed class TorchSharpLanguageModel : ILanguageModel
{
    private readonly ICausalDecoder _decoder;
    private readonly Device _device;
    private bool _disposed;

    public TorchSharpLanguageModel(ICausalDecoder decoder, ITokenizer tokenizer, ModelInfo info, Device device)
    {
        _decoder = decoder; Tokenizer = tokenizer; Info = info; _device = device;
        decoder.Module.eval();
    }

    public ModelInfo Info { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlySet<Type> SupportedInterventions => CallControl.Supported;

    /// <inheritdoc />
    public bool SupportsFinalHidden => true;
    public bool SupportsAttentionCapture => true;

    /// <summary>Bytes of one attention block handed to reducers (query chunking during prefill).</summary>
    internal long BlockBudgetBytes { get; set; } = 64L << 20;

    /// <summary>The decoder (tests compare its cached and full forwards).</summary>
    internal ICausalDecoder Decoder => _decoder;

    public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var s = DecodingChecks.CheckGenerate(request, Info);
        var prompt = request.PromptTokens;
        var control = CallControl.Create(Info, request.Captures, request.Interventions);
        if (control is not null) control.BlockBudgetBytes = BlockBudgetBytes;
        int n = request.NumSequences, p = prompt.Count;
        var book = new SequenceBook(request, Tokenizer, Info.ContextLength);
        var generators = s.IsGreedy ? null : Enumerable.Range(0, n).Select(k => new Generator((ulong)(s.Seed + k))).ToArray();
        if (control is not null) control.Finished = book.Finished;

        using var inference = inference_mode();
        using var cache = new KvCache(Info.Layers, p + book.MaxSteps);
        using (var scope = NewDisposeScope())
        {
            var ids = tensor(prompt.Select(t => (long)t).ToArray(), [1, p], device: _device).expand(n, p).contiguous();
            var logits = _decoder.Logits(ids, cache, control).select(1, p - 1);                  // [N, V]
            for (int step = 0; step < book.MaxSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var stepScope = NewDisposeScope();
                var logp = nn.functional.log_softmax(logits, -1);                                 // [N, V], temperature 1
                var entropy = -(logp.exp() * logp.clamp_min(-1e30)).sum(-1);                      // [N]
                var next = s.IsGreedy ? logits.argmax(-1) : Sample(logits, s, generators!);       // [N] int64
                var chosen = logp.gather(1, next.unsqueeze(1)).squeeze(1);                        // [N]
                var nextIds = next.cpu().data<long>().ToArray();
                var chosenLp = chosen.cpu().data<float>().ToArray();
                var ent = entropy.cpu().data<float>().ToArray();
                float[]? topV = null; long[]? topI = null;
                if (request.TopLogProbs > 0)
                {
                    var (tv, ti) = logp.topk(Math.Min(request.TopLogProbs, Info.VocabSize), -1);
                    topV = tv.cpu().data<float>().ToArray(); topI = ti.cpu().data<long>().ToArray();
                }
                for (int k = 0; k < n; k++)
                {
                    int kk = topV is null ? 0 : topV.Length / n;
                    var top = topV is null ? null : Enumerable.Range(0, kk).Select(j => new TokenLogProb((int)topI![k * kk + j], topV[k * kk + j])).ToList();
                    book.Add(k, (int)nextIds[k], chosenLp[k], ent[k], top);
                }
                if (book.AllFinished) break;
                var feed = tensor(nextIds, [n, 1], device: _device);
                var newLogits = _decoder.Logits(feed, cache, control).select(1, 0);               // [N, V]
                logits = newLogits.MoveToOuterDisposeScope();
            }
        }
        return book.Result();
    }

    public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        DecodingChecks.CheckScore(request, Info);
        var toks = request.Tokens;
        var control = CallControl.Create(Info, request.Captures, request.Interventions, request.CaptureFinalHidden);
        if (control is not null) control.BlockBudgetBytes = BlockBudgetBytes;
        cancellationToken.ThrowIfCancellationRequested();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        int t = toks.Count, m = t - request.From;
        var ids = tensor(toks.Select(x => (long)x).ToArray(), [1, t], device: _device);
        var logits = _decoder.Logits(ids, null, control)[0];                                   // [T, V]
        IReadOnlyList<float[]>? hidden = control?.FinalHidden is { } flat
            ? Enumerable.Range(0, t).Select(i => flat.AsSpan(i * _decoder.DModel, _decoder.DModel).ToArray()).ToList() : null;
        if (m == 0) return new TokenScores([], [], [], request.TopLogProbs > 0 ? [] : null) { FinalHidden = hidden };
        var logp = nn.functional.log_softmax(logits.narrow(0, request.From - 1, m), -1);       // [m, V]: position i−1 predicts token i
        var targets = ids[0].narrow(0, request.From, m);
        var chosen = logp.gather(1, targets.unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
        var ent = (-(logp.exp() * logp.clamp_min(-1e30)).sum(-1)).cpu().data<float>().ToArray();
        List<IReadOnlyList<TokenLogProb>>? top = null;
        if (request.TopLogProbs > 0)
        {
            int kk = Math.Min(request.TopLogProbs, Info.VocabSize);
            var (tv, ti) = logp.topk(kk, -1);
            var v = tv.cpu().data<float>().ToArray(); var ix = ti.cpu().data<long>().ToArray();
            top = Enumerable.Range(0, m).Select(i => (IReadOnlyList<TokenLogProb>)Enumerable.Range(0, kk).Select(j => new TokenLogProb((int)ix[i * kk + j], v[i * kk + j])).ToList()).ToList();
        }
        return new TokenScores(toks.Skip(request.From).ToList(), chosen, ent, top) { FinalHidden = hidden };
    }

    /// <summary>Seeded sampling: logits / T, top-k, top-p, then one multinomial draw per sequence with its own generator.</summary>
    private static Tensor Sample(Tensor logits, SamplingOptions s, Generator[] generators)
    {
        var scaled = logits / s.Temperature;                                                   // [N, V]
        if (s.TopK > 0 && s.TopK < scaled.shape[1])
        {
            var kth = scaled.topk(s.TopK, -1).values.narrow(1, s.TopK - 1, 1);                 // [N, 1]
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        var probs = nn.functional.softmax(scaled, -1);
        if (s.TopP < 1)
        {
            var (sorted, order) = probs.sort(-1, descending: true);
            var remove = (sorted.cumsum(-1) - sorted) > s.TopP;                                   // keep the smallest prefix with mass ≥ top_p
            probs = zeros_like(probs).scatter(-1, order, sorted.masked_fill(remove, 0));
        }
        var picks = new long[generators.Length];
        for (int k = 0; k < generators.Length; k++)
            picks[k] = multinomial(probs[k], 1, generator: generators[k]).item<long>();
        return tensor(picks, device: logits.device);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _decoder.Dispose();
    }
}
