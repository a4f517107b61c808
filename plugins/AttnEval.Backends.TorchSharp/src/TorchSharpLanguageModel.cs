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
        return GenerateGroup([request], cancellationToken)[0];
    }

    /// <summary>Batches requests that share temperature, top-p, top-k, top-log-probs and interventions (so one sampling rule
    /// and one intervention set hold for every row); each such group is one batched decode, left-padded to its longest
    /// prompt. Results in request order.</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(requests);
        var results = new GenerationResult[requests.Count];
        var groups = Enumerable.Range(0, requests.Count).GroupBy(i =>
        {
            var r = requests[i] ?? throw new ArgumentException($"request {i} is null.", nameof(requests));
            var sm = r.Sampling ?? SamplingOptions.Greedy;
            return (sm.Temperature, sm.TopP, sm.TopK, r.TopLogProbs, Interventions: r.Interventions.Count == 0 ? null : (object)r.Interventions);
        });
        foreach (var g in groups)
        {
            var idx = g.ToList();
            var got = GenerateGroup(idx.Select(i => requests[i]).ToList(), cancellationToken, idx);
            for (int j = 0; j < idx.Count; j++) results[idx[j]] = got[j];
        }
        return results;
    }

    /// <summary>One batched decode over requests with the same sampling rule and interventions: row <c>(r, k)</c> is
    /// sequence <c>k</c> of request <c>r</c>, its prompt left-padded to the longest (padding masked out of every key set,
    /// each pad query attending only to itself so no softmax row is empty), positions counted from its own first token.</summary>
    private GenerationResult[] GenerateGroup(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken, IReadOnlyList<int>? indices = null)
    {
        var settings = requests.Select((r, j) =>
        {
            try { return DecodingChecks.CheckGenerate(r, Info); }
            catch (ArgumentException e) when (indices is not null) { throw new ArgumentException($"request {indices[j]}: {e.Message}", nameof(requests), e); }
        }).ToArray();
        var s = settings[0];
        var books = requests.Select(r => new SequenceBook(r, Tokenizer, Info.ContextLength)).ToArray();
        var rows = requests.SelectMany((r, j) => Enumerable.Range(0, r.NumSequences).Select(k => (Request: j, Sequence: k))).ToArray();
        int n = rows.Length, pMax = requests.Max(r => r.PromptTokens.Count);
        var pads = rows.Select(x => pMax - requests[x.Request].PromptTokens.Count).ToArray();
        bool padded = pads.Any(p => p > 0);
        int maxSteps = books.Max(b => b.MaxSteps);

        var routes = rows.Select((x, i) => new RowRoute(Info.Layers, requests[x.Request].Captures, x.Sequence, pads[i])).ToArray();
        // Final hidden states of every fed position, per row whose request asks (contract 1.4): the prompt's from the
        // prefill (left padding skipped), then one per decode step; cut to prompt + generated − 1 at the end.
        var hidden = requests.Any(r => r.CaptureFinalHidden)
            ? rows.Select(x => requests[x.Request].CaptureFinalHidden ? new List<float[]>() : null).ToArray() : null;
        var control = CallControl.CreateRouted(Info, routes, requests[0].Interventions, hidden is not null);
        var finished = new bool[n];
        if (control is not null) { control.BlockBudgetBytes = BlockBudgetBytes; control.Finished = finished; }
        var generators = s.IsGreedy ? null : rows.Select(x => new Generator((ulong)((requests[x.Request].Sampling ?? SamplingOptions.Greedy).Seed + x.Sequence))).ToArray();

        using var inference = inference_mode();
        using var cache = new KvCache(Info.Layers, pMax + maxSteps);
        using (var scope = NewDisposeScope())
        {
            var flat = new long[n * pMax];
            for (int i = 0; i < n; i++)
            {
                var prompt = requests[rows[i].Request].PromptTokens;
                for (int t = 0; t < prompt.Count; t++) flat[i * pMax + pads[i] + t] = prompt[t];
            }
            var ids = tensor(flat, [n, pMax], device: _device);
            Tensor? keyValid = null, positions = null, mask = null;
            if (padded)
            {
                var pad = tensor(pads.Select(p => (long)p).ToArray(), [n, 1], device: _device);           // [N, 1]
                keyValid = (arange(pMax + maxSteps, ScalarType.Int64, _device).unsqueeze(0) >= pad).view(n, 1, 1, pMax + maxSteps);
                positions = (arange(pMax, ScalarType.Int64, _device).unsqueeze(0) - pad).clamp_min(0);  // [N, pMax]
                mask = keyValid.narrow(3, 0, pMax).logical_or(eye(pMax, dtype: ScalarType.Bool, device: _device).view(1, 1, pMax, pMax));
            }
            var logits = _decoder.Logits(ids, positions, mask, cache, control).select(1, pMax - 1);    // [N, V]
            KeepHidden(hidden, control, pads, pMax);
            for (int step = 0; step < maxSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var stepScope = NewDisposeScope();
                var next = s.IsGreedy ? logits.argmax(-1) : Sample(logits, s, generators!);       // [N] int64
                var nextIds = next.cpu().data<long>().ToArray();
                int kk = Math.Min(requests[0].TopLogProbs, Info.VocabSize);
                var dist = Distributions(logits, next, kk);                                         // temperature 1
                for (int i = 0; i < n; i++)
                {
                    var (r, k) = rows[i];
                    books[r].Add(k, (int)nextIds[i], dist.Chosen[i], dist.Entropy[i], kk > 0 ? dist.Top(i, kk) : null);
                    finished[i] = books[r].Finished[k];
                }
                if (finished.All(f => f)) break;
                var feed = tensor(nextIds, [n, 1], device: _device);
                Tensor? stepPositions = padded
                    ? tensor(rows.Select(x => (long)(requests[x.Request].PromptTokens.Count + step)).ToArray(), [n, 1], device: _device) : null;
                var stepMask = keyValid?.narrow(3, 0, pMax + step + 1);
                var newLogits = _decoder.Logits(feed, stepPositions, stepMask, cache, control).select(1, 0);   // [N, V]
                KeepHidden(hidden, control, null, 1);
                logits = newLogits.MoveToOuterDisposeScope();
            }
        }
        var results = books.Select(b => b.Result()).ToArray();
        if (hidden is null) return results;
        var sequences = results.Select(r => r.Sequences.ToArray()).ToArray();
        for (int i = 0; i < n; i++)
        {
            if (hidden[i] is not { } h) continue;
            var (r, k) = rows[i];
            var seq = sequences[r][k];
            int fed = requests[r].PromptTokens.Count + seq.Tokens.Count - 1;                       // the last token is never fed
            if (h.Count > fed) h.RemoveRange(fed, h.Count - fed);
            sequences[r][k] = seq with { Scores = seq.Scores with { FinalHidden = h } };
        }
        return results.Select((res, r) => res with { Sequences = sequences[r] }).ToArray();
    }

    /// <summary>Appends each row's final hidden states of the forward just run (<c>[N × T × d]</c> in the control) to its
    /// list, skipping the row's left padding (<paramref name="pads"/>; null = none).</summary>
    private void KeepHidden(List<float[]>?[]? hidden, CallControl? control, int[]? pads, int t)
    {
        if (hidden is null) return;
        var flat = control?.FinalHidden ?? throw new InvalidOperationException("the decoder returned no final hidden states");
        int d = _decoder.DModel;
        for (int i = 0; i < hidden.Length; i++)
        {
            if (hidden[i] is not { } list) continue;
            for (int p = pads?[i] ?? 0; p < t; p++) list.Add(flat.AsSpan((i * t + p) * d, d).ToArray());
        }
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
        return Scores(request, logits.narrow(0, request.From - 1, m), ids[0].narrow(0, request.From, m), m, hidden);
    }

    /// <summary>Requests with the same head interventions (none, or equal ones in the same order, e.g. a document scored
    /// with and without masked heads) are scored together: the prefix all of them share (up to the first scored position)
    /// in one pass, then the rest of every request in one right-padded batch over a copy of that prefix's KV cache
    /// (padding sits in every real row's causal future, so no mask is needed, none reaches a reducer, and a uniform-attention
    /// intervention spreads over the row's own keys only); the interventions act on both passes. Batches are cut so their
    /// logits stay under <see cref="BatchLogitBudgetBytes"/>.</summary>
    public IReadOnlyList<TokenScores> ScoreBatch(IReadOnlyList<ScoreRequest> requests, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(requests);
        for (int i = 0; i < requests.Count; i++)
        {
            try { DecodingChecks.CheckScore(requests[i] ?? throw new ArgumentException("null request."), Info); }
            catch (ArgumentException e) { throw new ArgumentException($"request {i}: {e.Message}", nameof(requests), e); }
        }
        var results = new TokenScores[requests.Count];
        // Requests with the same head interventions (equal, in the same order) share a batch; the interventions act on
        // every row of it, as they would on each request alone.
        var groups = new List<List<int>>();
        for (int i = 0; i < requests.Count; i++)
        {
            var g = groups.FirstOrDefault(g => requests[g[0]].Interventions.SequenceEqual(requests[i].Interventions));
            if (g is null) groups.Add([i]);
            else g.Add(i);
        }
        long perToken = (long)Info.VocabSize * sizeof(float);
        foreach (var group in groups)
        {
            var interventions = requests[group[0]].Interventions;
            // Cut into batches whose suffix logits fit the budget (longest first keeps padding low).
            var order = group.OrderByDescending(i => requests[i].Tokens.Count).ToList();
            for (int start = 0; start < order.Count;)
            {
                int end = start + 1;
                while (end < order.Count && (long)(end + 1 - start) * requests[order[start]].Tokens.Count * perToken <= BatchLogitBudgetBytes) end++;
                var idx = order.GetRange(start, end - start);
                var got = idx.Count == 1 ? [Score(requests[idx[0]], cancellationToken)] : ScoreShared(idx.Select(i => requests[i]).ToList(), interventions, cancellationToken);
                for (int j = 0; j < idx.Count; j++) results[idx[j]] = got[j];
                start = end;
            }
        }
        return results;
    }

    /// <summary>Bytes of float32 logits one batched scoring pass may hold (<see cref="ScoreBatch"/> cuts larger batches; its log-softmax and entropy take about twice that again); 128 MiB.</summary>
    internal long BatchLogitBudgetBytes { get; set; } = 128L << 20;

    private TokenScores[] ScoreShared(IReadOnlyList<ScoreRequest> requests, IReadOnlyList<HeadIntervention> interventions, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int b = requests.Count;
        // Shared prefix: common to every request, ending at or before each one's first scored token, leaving each ≥ 1 token.
        int c = requests.Min(r => Math.Min(r.From, r.Tokens.Count - 1));
        for (int i = 0; i < c; i++)
        {
            int t0 = requests[0].Tokens[i];
            if (requests.Any(r => r.Tokens[i] != t0)) { c = i; break; }
        }
        int sMax = requests.Max(r => r.Tokens.Count) - c;
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(Info.Layers, c + sMax);
        bool hidden = requests.Any(r => r.CaptureFinalHidden);
        int d = _decoder.DModel;
        Tensor? prefixLast = null;                                                              // [V]: prediction of token c
        float[]? prefixHidden = null;                                                           // [c × d]
        if (c > 0)
        {
            var prefixRoute = new RowRoute(Info.Layers, requests.SelectMany(r => r.Captures), 0);
            var prefixControl = CallControl.CreateRouted(Info, [prefixRoute], interventions, hidden);
            if (prefixControl is not null) prefixControl.BlockBudgetBytes = BlockBudgetBytes;
            var prefixIds = tensor(requests[0].Tokens.Take(c).Select(x => (long)x).ToArray(), [1, c], device: _device);
            prefixLast = _decoder.Logits(prefixIds, null, null, cache, prefixControl)[0, c - 1];
            prefixHidden = prefixControl?.FinalHidden;
            cache.Expand(b);
        }
        var flat = new long[b * sMax];
        for (int i = 0; i < b; i++)
            for (int t = c; t < requests[i].Tokens.Count; t++) flat[i * sMax + t - c] = requests[i].Tokens[t];
        var ids = tensor(flat, [b, sMax], device: _device);
        var routes = requests.Select(r => new RowRoute(Info.Layers, r.Captures, 0, 0, r.Tokens.Count)).ToArray();
        var control = CallControl.CreateRouted(Info, routes, interventions, hidden);
        if (control is not null) control.BlockBudgetBytes = BlockBudgetBytes;
        var logits = _decoder.Logits(ids, null, null, c > 0 ? cache : null, control);          // [B, S, V]
        // Every row's log-probabilities, entropies and top-k in a few whole-batch operations (not a few per request):
        // suffix position p of row i predicts the token at absolute position c + p + 1; the prefix's last position
        // predicts each row's token c.
        var targets = new long[b * sMax];
        var atC = new long[b];
        for (int i = 0; i < b; i++)
        {
            var toks = requests[i].Tokens;
            atC[i] = toks[c];
            for (int p = 0; c + p + 1 < toks.Count; p++) targets[i * sMax + p] = toks[c + p + 1];
        }
        int kk = Math.Min(requests.Max(r => r.TopLogProbs), Info.VocabSize);
        var suffix = Distributions(logits, tensor(targets, [b, sMax], device: _device), kk);           // [B × S] each
        var prefix = c > 0 ? Distributions(prefixLast!.expand(b, -1), tensor(atC, device: _device), kk) : null;   // [B]

        var results = new TokenScores[b];
        for (int i = 0; i < b; i++)
        {
            var r = requests[i];
            int t = r.Tokens.Count;
            // Hidden states of every position: the prefix's, then this row's suffix up to its own length.
            IReadOnlyList<float[]>? rowHidden = r.CaptureFinalHidden
                ? Enumerable.Range(0, t).Select(p => p < c
                    ? prefixHidden!.AsSpan(p * d, d).ToArray()
                    : control!.FinalHidden!.AsSpan((int)(((long)i * sMax + p - c) * d), d).ToArray()).ToList()
                : null;
            var lps = new List<float>(t - r.From);
            var ents = new List<float>(t - r.From);
            var tops = r.TopLogProbs > 0 ? new List<IReadOnlyList<TokenLogProb>>(t - r.From) : null;
            int k = Math.Min(r.TopLogProbs, Info.VocabSize);
            for (int p = r.From - 1; p <= t - 2; p++)                                           // position p predicts token p + 1
            {
                var (from, at) = p == c - 1 ? (prefix!, i) : (suffix, i * sMax + p - c);
                lps.Add(from.Chosen[at]); ents.Add(from.Entropy[at]);
                tops?.Add(from.Top(at, k));
            }
            results[i] = new TokenScores(r.Tokens.Skip(r.From).ToList(), lps, ents, tops) { FinalHidden = rowHidden };
        }
        return results;
    }

    /// <summary>Log-probabilities, entropies and optional top-k of <paramref name="m"/> scored tokens from their logits.</summary>
    private TokenScores Scores(ScoreRequest request, Tensor logits, Tensor targets, int m, IReadOnlyList<float[]>? hidden = null)
    {
        int k = Math.Min(request.TopLogProbs, Info.VocabSize);
        var dist = Distributions(logits, targets, k);
        var top = k > 0 ? Enumerable.Range(0, m).Select(i => dist.Top(i, k)).ToList() : null;
        return new TokenScores(request.Tokens.Skip(request.From).ToList(), dist.Chosen, dist.Entropy, top) { FinalHidden = hidden };
    }

    /// <summary>The temperature-1 distributions of a batch of logit rows, copied to managed memory: per row the
    /// log-probability of its target and the entropy (nats), and the top <c>k</c> alternatives.</summary>
    private sealed record RowDistributions(float[] Chosen, float[] Entropy, float[]? TopValues, long[]? TopIds, int K)
    {
        /// <summary>The first <paramref name="k"/> (≤ K) alternatives of row <paramref name="row"/>.</summary>
        public IReadOnlyList<TokenLogProb> Top(long row, int k) =>
            Enumerable.Range(0, k).Select(j => new TokenLogProb((int)TopIds![row * K + j], TopValues![row * K + j])).ToList();
    }

    /// <summary>log_softmax over the last axis of <paramref name="logits"/> (<c>[.., V]</c>), gathered at
    /// <paramref name="targets"/> (<c>[..]</c>, int64), with entropies and, when <paramref name="k"/> &gt; 0, the top-k; rows flattened
    /// row-major.</summary>
    private static RowDistributions Distributions(Tensor logits, Tensor targets, int k)
    {
        var logp = nn.functional.log_softmax(logits, -1);
        var chosen = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1).cpu().data<float>().ToArray();
        var entropy = (-(logp.exp() * logp.clamp_min(-1e30)).sum(-1)).cpu().data<float>().ToArray();
        if (k <= 0) return new RowDistributions(chosen, entropy, null, null, 0);
        var (tv, ti) = logp.topk(k, -1);
        return new RowDistributions(chosen, entropy, tv.cpu().data<float>().ToArray(), ti.cpu().data<long>().ToArray(), k);
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
