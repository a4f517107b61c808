using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Modeling;
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
    public bool SupportsAttentionCapture => true;

    /// <summary>Bytes of one attention block handed to reducers (query chunking during prefill).</summary>
    internal long BlockBudgetBytes { get; set; } = 64L << 20;

    /// <summary>The decoder (tests compare its cached and full forwards).</summary>
    internal ICausalDecoder Decoder => _decoder;

    public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var prompt = request.PromptTokens ?? throw new ArgumentException("PromptTokens is null.", nameof(request));
        var s = request.Sampling ?? SamplingOptions.Greedy;
        if (prompt.Count == 0) throw new ArgumentException("the prompt is empty: pass at least one token (e.g. BOS).", nameof(request));
        CheckIds(prompt, nameof(request));
        if (prompt.Count >= Info.ContextLength) throw new ArgumentException($"the prompt has {prompt.Count} tokens; the context holds {Info.ContextLength}, leaving no room to generate.", nameof(request));
        if (request.MaxNewTokens < 1) throw new ArgumentException($"MaxNewTokens is {request.MaxNewTokens}, expected ≥ 1.", nameof(request));
        if (request.NumSequences < 1) throw new ArgumentException($"NumSequences is {request.NumSequences}, expected ≥ 1.", nameof(request));
        if (!(s.Temperature >= 0) || !(s.TopP > 0 && s.TopP <= 1) || s.TopK < 0) throw new ArgumentException($"bad sampling settings {s}: temperature ≥ 0, top_p in (0, 1], top_k ≥ 0.", nameof(request));
        if (request.TopLogProbs < 0) throw new ArgumentException("TopLogProbs must be ≥ 0.", nameof(request));

        var control = CallControl.Create(Info, request.Captures, request.Interventions);
        if (control is not null) control.BlockBudgetBytes = BlockBudgetBytes;
        int n = request.NumSequences, p = prompt.Count;
        int maxNew = Math.Min(request.MaxNewTokens, Info.ContextLength - p);
        var stops = request.StopTokens.Concat(Tokenizer.StopIds).ToHashSet();
        var tokens = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, n).Select(_ => new List<float>()).ToArray();
        var entropies = Enumerable.Range(0, n).Select(_ => new List<float>()).ToArray();
        var tops = request.TopLogProbs > 0 ? Enumerable.Range(0, n).Select(_ => new List<IReadOnlyList<TokenLogProb>>()).ToArray() : null;
        var finish = new FinishReason?[n];
        var texts = new string?[n];
        var generators = s.IsGreedy ? null : Enumerable.Range(0, n).Select(k => new Generator((ulong)(s.Seed + k))).ToArray();
        if (control is not null) control.Finished = new bool[n];

        using var inference = inference_mode();
        using var cache = new KvCache(Info.Layers, p + maxNew);
        using (var scope = NewDisposeScope())
        {
            var ids = tensor(prompt.Select(t => (long)t).ToArray(), [1, p], device: _device).expand(n, p).contiguous();
            var logits = _decoder.Logits(ids, cache, control).select(1, p - 1);                  // [N, V]
            for (int step = 0; step < maxNew; step++)
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
                if (tops is not null)
                {
                    var (tv, ti) = logp.topk(Math.Min(request.TopLogProbs, Info.VocabSize), -1);
                    topV = tv.cpu().data<float>().ToArray(); topI = ti.cpu().data<long>().ToArray();
                }
                for (int k = 0; k < n; k++)
                {
                    if (finish[k] is not null) continue;
                    int id = (int)nextIds[k];
                    tokens[k].Add(id); logProbs[k].Add(chosenLp[k]); entropies[k].Add(ent[k]);
                    if (tops is not null)
                    {
                        int kk = topV!.Length / n;
                        tops[k].Add(Enumerable.Range(0, kk).Select(j => new TokenLogProb((int)topI![k * kk + j], topV[k * kk + j])).ToList());
                    }
                    if (stops.Contains(id)) finish[k] = FinishReason.StopToken;
                    else if (request.StopStrings.Count > 0 && CutAtStopString(Tokenizer.Decode(tokens[k]), request.StopStrings) is { } cut)
                    { finish[k] = FinishReason.StopString; texts[k] = cut; }
                    else if (tokens[k].Count >= request.MaxNewTokens) finish[k] = FinishReason.Length;
                    else if (p + tokens[k].Count >= Info.ContextLength) finish[k] = FinishReason.ContextFull;
                    if (finish[k] is not null && control is not null) control.Finished![k] = true;
                }
                if (finish.All(f => f is not null)) break;
                var feed = tensor(nextIds, [n, 1], device: _device);
                var newLogits = _decoder.Logits(feed, cache, control).select(1, 0);               // [N, V]
                logits = newLogits.MoveToOuterDisposeScope();
            }
        }
        var seqs = Enumerable.Range(0, n).Select(k => new GeneratedSequence(
            new TokenScores(tokens[k], logProbs[k], entropies[k], tops?[k]),
            texts[k] ?? Tokenizer.Decode(tokens[k]),
            finish[k] ?? FinishReason.Length)).ToList();
        return new GenerationResult(prompt.ToList(), seqs);
    }

    public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var toks = request.Tokens;
        if (toks.Count == 0 || request.From < 1 || request.From > toks.Count)
            throw new ArgumentException($"From = {request.From} must be in [1, {toks.Count}] (the first token is context only).", nameof(request));
        if (toks.Count > Info.ContextLength) throw new ArgumentException($"{toks.Count} tokens exceed the context of {Info.ContextLength}.", nameof(request));
        CheckIds(toks, nameof(request));
        var control = CallControl.Create(Info, request.Captures, request.Interventions);
        if (control is not null) control.BlockBudgetBytes = BlockBudgetBytes;
        cancellationToken.ThrowIfCancellationRequested();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        int t = toks.Count, m = t - request.From;
        var ids = tensor(toks.Select(x => (long)x).ToArray(), [1, t], device: _device);
        var logits = _decoder.Logits(ids, null, control)[0];                                   // [T, V]
        if (m == 0) return new TokenScores([], [], [], request.TopLogProbs > 0 ? [] : null);
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
        return new TokenScores(toks.Skip(request.From).ToList(), chosen, ent, top);
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

    private static string? CutAtStopString(string text, IReadOnlyList<string> stopStrings)
    {
        int best = -1;
        foreach (var ss in stopStrings)
        {
            if (string.IsNullOrEmpty(ss)) continue;
            int i = text.IndexOf(ss, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best >= 0 ? text[..best] : null;
    }

    private void CheckIds(IReadOnlyList<int> ids, string param)
    {
        foreach (var id in ids)
            if (id < 0 || id >= Info.VocabSize) throw new ArgumentException($"token id {id} is outside the vocabulary [0, {Info.VocabSize}).", param);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _decoder.Dispose();
    }
}
