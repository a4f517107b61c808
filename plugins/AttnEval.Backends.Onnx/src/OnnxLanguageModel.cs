using AttnEval.Abstractions;
using AttnEval.Decoding;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttnEval.Backends.Onnx;

/// <summary>
/// <see cref="ILanguageModel"/> over an ONNX Runtime decoder session: KV-cache generation (the <c>present.*</c> outputs of
/// one step are fed back as <c>past_key_values.*</c>), teacher-forced scoring, attention rows handed to reducers straight
/// from the <c>blocks.{l}.attn.hook_pattern</c> outputs, and head interventions through the graph's control inputs.
/// Semantics follow the TorchSharp backend: N sequences batched from one prompt, sequence k sampled with seed Seed + k,
/// log-probabilities and entropies from the temperature-1 distribution, stop ids and strings, context limit.
/// </summary>
internal sealed class OnnxLanguageModel : ILanguageModel
{
    private static readonly IReadOnlySet<Type> InterventionTypes = new HashSet<Type>
    {
        typeof(UniformAttention), typeof(ScaleQuery), typeof(ScaleOutput), typeof(ZeroOutput), typeof(MeanOutput),
    };

    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly RunOptions _run = new();
    private readonly DecoderGraph _graph;
    private bool _disposed;

    public OnnxLanguageModel(InferenceSession session, SessionOptions options, DecoderGraph graph, ModelInfo info, ITokenizer tokenizer)
    {
        _session = session; _options = options; _graph = graph; Info = info; Tokenizer = tokenizer;
    }

    public ModelInfo Info { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlySet<Type> SupportedInterventions => _graph.HasInterventionInputs ? InterventionTypes : new HashSet<Type>();
    public bool SupportsAttentionCapture => _graph.PatternLayers.Count > 0;

    /// <summary>Bytes of one attention block handed to reducers (query chunking of the prompt when capturing).</summary>
    internal long BlockBudgetBytes { get; set; } = 64L << 20;

    /// <summary>The graph contract (tests).</summary>
    internal DecoderGraph Graph => _graph;

    public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var s = DecodingChecks.CheckGenerate(request, Info);
        var prompt = request.PromptTokens;
        var call = CallPlan.Create(this, request.Captures, request.Interventions);
        int n = request.NumSequences, p = prompt.Count, v = Info.VocabSize;
        var book = new SequenceBook(request, Tokenizer, Info.ContextLength);
        var rngs = s.IsGreedy ? null : Enumerable.Range(0, n).Select(k => new Random(SeedOf(s.Seed + k))).ToArray();
        call.Finished = book.Finished;

        using var cache = new KvCache(this, n);
        var ids = new int[n * p];
        for (int k = 0; k < n; k++) for (int i = 0; i < p; i++) ids[k * p + i] = prompt[i];
        float[] logits = Prefill(ids, n, p, cache, call, allPositions: false, cancellationToken);   // [N, V]
        var next = new int[n];
        for (int step = 0; step < book.MaxSteps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int k = 0; k < n; k++)
            {
                var row = logits.AsSpan(k * v, v);
                double lse = NextToken.LogSumExp(row);
                int id = next[k] = rngs is null ? NextToken.ArgMax(row) : NextToken.Sample(row, s, rngs[k]);
                if (book.Finished[k]) continue;
                book.Add(k, id, (float)(row[id] - lse), (float)NextToken.Entropy(row, lse), request.TopLogProbs > 0 ? NextToken.Top(row, lse, request.TopLogProbs) : null);
            }
            if (book.AllFinished) break;
            logits = Forward(next, n, 1, cache, call, allPositions: false);
        }
        return book.Result();
    }

    public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        if (request.CaptureFinalHidden)
            throw new NotSupportedException("the onnx backend's graphs export logits, presents and attention, not the final hidden states (CaptureFinalHidden); use the torchsharp backend");
        ObjectDisposedException.ThrowIf(_disposed, this);
        DecodingChecks.CheckScore(request, Info);
        var toks = request.Tokens;
        var call = CallPlan.Create(this, request.Captures, request.Interventions);
        cancellationToken.ThrowIfCancellationRequested();
        int t = toks.Count, m = t - request.From, v = Info.VocabSize;
        using var cache = new KvCache(this, 1);
        var logits = Prefill(toks.ToArray(), 1, t, cache, call, allPositions: true, cancellationToken);   // [T, V]
        var chosen = new float[m];
        var ent = new float[m];
        var top = request.TopLogProbs > 0 ? new List<IReadOnlyList<TokenLogProb>>(m) : null;
        for (int i = 0; i < m; i++)
        {
            var row = logits.AsSpan((request.From - 1 + i) * v, v);          // position i−1 predicts token i
            double lse = NextToken.LogSumExp(row);
            chosen[i] = (float)(row[toks[request.From + i]] - lse);
            ent[i] = (float)NextToken.Entropy(row, lse);
            top?.Add(NextToken.Top(row, lse, request.TopLogProbs));
        }
        return new TokenScores(toks.Skip(request.From).ToList(), chosen, ent, top);
    }

    /// <summary>Runs the prompt through the graph, in query chunks when attention is captured so that one block of rows
    /// stays within <see cref="BlockBudgetBytes"/>.</summary>
    private float[] Prefill(int[] ids, int n, int t, KvCache cache, CallPlan call, bool allPositions, CancellationToken ct)
    {
        long rowBytes = (long)n * Info.Heads * t * sizeof(float);
        int chunk = call.Captures ? (int)Math.Clamp(BlockBudgetBytes / Math.Max(1, rowBytes), 1, t) : t;
        if (chunk >= t && !call.Boundaries.Any(b => b > 0 && b < t)) return Forward(ids, n, t, cache, call, allPositions);
        var parts = new List<float[]>();
        for (int q0 = 0, c; q0 < t; q0 += c)
        {
            ct.ThrowIfCancellationRequested();
            // a chunk ends at the capture budget or where an intervention starts acting (FromPosition), whichever comes first
            int end = Math.Min(t, q0 + chunk);
            foreach (var b in call.Boundaries) if (b > q0 && b < end) end = b;
            c = end - q0;
            var part = new int[n * c];
            for (int k = 0; k < n; k++) Array.Copy(ids, k * t + q0, part, k * c, c);
            var logits = Forward(part, n, c, cache, call, allPositions);
            if (allPositions || q0 + c == t) parts.Add(logits);
        }
        return parts.Count == 1 ? parts[0] : parts.SelectMany(x => x).ToArray();   // n = 1 when all positions are kept
    }

    /// <summary>One graph run over <paramref name="t"/> new tokens per sequence after the cached ones; updates the cache, hands
    /// the pattern outputs to the reducers, and returns logits <c>[N, t, V]</c> (all positions) or <c>[N, V]</c> (the last).</summary>
    private float[] Forward(int[] ids, int n, int t, KvCache cache, CallPlan call, bool allPositions)
    {
        int past = cache.Length, total = past + t, v = Info.VocabSize;
        var names = new List<string>();
        var values = new List<OrtValue>();
        var owned = new List<OrtValue>();
        IDisposableReadOnlyCollection<OrtValue>? results = null;
        try
        {
            void Add(string name, OrtValue value, bool own = true) { names.Add(name); values.Add(value); if (own) owned.Add(value); }
            Add(DecoderGraph.InputIds, IntTensor(_graph.IdsType, ids, [n, t]));
            if (_graph.MaskType is { } mt) Add(DecoderGraph.AttentionMask, IntTensor(mt, Enumerable.Repeat(1, n * total).ToArray(), [n, total]));
            if (_graph.PositionType is { } pt)
            {
                var pos = new int[n * t];
                for (int k = 0; k < n; k++) for (int i = 0; i < t; i++) pos[k * t + i] = past + i;
                Add(DecoderGraph.PositionIds, IntTensor(pt, pos, [n, t]));
            }
            for (int i = 0; i < cache.Names.Count; i++) Add(cache.Names[i], cache.Values[i], own: false);
            if (call.ControlsAt(past, t) is { } ctl)
            {
                int l = Info.Layers, h = Info.Heads;
                Add(DecoderGraph.QScale, OrtValue.CreateTensorValueFromMemory(ctl.QScale, [l, h]));
                Add(DecoderGraph.ZScale, OrtValue.CreateTensorValueFromMemory(ctl.ZScale, [l, h]));
                Add(DecoderGraph.UniformFlag, OrtValue.CreateTensorValueFromMemory(ctl.Uniform, [l, h]));
                Add(DecoderGraph.ZBias, OrtValue.CreateTensorValueFromMemory(ctl.ZBias, [l, h, Info.HeadDim]));
            }
            var outNames = new List<string> { DecoderGraph.Logits };
            outNames.AddRange(cache.PresentNames);
            outNames.AddRange(call.PatternLayers.Select(ActivationNames.Pattern));
            results = _session.Run(_run, names, values, outNames);

            var logits = ReadLogits(results[0], n, t, v, allPositions);
            cache.Replace(results.Skip(1).Take(cache.PresentNames.Count).ToArray(), total);
            for (int j = 0; j < call.PatternLayers.Count; j++)
                call.Deliver(call.PatternLayers[j], results[1 + cache.PresentNames.Count + j], past);
            foreach (var r in results.Skip(1 + cache.PresentNames.Count)) r.Dispose();
            results[0].Dispose();
            return logits;
        }
        catch
        {
            if (results is not null) foreach (var r in results) r.Dispose();
            throw;
        }
        finally
        {
            foreach (var o in owned) o.Dispose();
        }
    }

    private static float[] ReadLogits(OrtValue value, int n, int t, int v, bool allPositions)
    {
        var shape = value.GetTensorTypeAndShape();
        long expected = (long)n * t * v;
        if (shape.ElementCount != expected)
            throw new InvalidOperationException($"graph output 'logits' has {shape.ElementCount} values, expected batch×seq×vocab = {n}×{t}×{v}.");
        var result = new float[allPositions ? n * t * v : n * v];
        for (int k = 0; k < n; k++)
        {
            int from = allPositions ? k * t * v : (k * t + t - 1) * v, count = allPositions ? t * v : v, to = allPositions ? k * t * v : k * v;
            if (shape.ElementDataType == TensorElementType.Float16)
            {
                var src = value.GetTensorDataAsSpan<Float16>().Slice(from, count);
                for (int i = 0; i < count; i++) result[to + i] = src[i].ToFloat();
            }
            else value.GetTensorDataAsSpan<float>().Slice(from, count).CopyTo(result.AsSpan(to, count));
        }
        return result;
    }

    private static OrtValue IntTensor(TensorElementType type, int[] data, long[] shape) =>
        type == TensorElementType.Int64
            ? OrtValue.CreateTensorValueFromMemory(data.Select(x => (long)x).ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(data, shape);

    private static int SeedOf(long seed) => (int)(seed ^ (seed >>> 32));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _options.Dispose();
        _run.Dispose();
    }

    /// <summary>The KV cache of one call: the <c>present.*</c> values of the last run, fed back as <c>past.*</c>.</summary>
    private sealed class KvCache : IDisposable
    {
        public KvCache(OnnxLanguageModel m, int n)
        {
            var g = m._graph;
            var kinds = g.Layout == KvLayout.Separate ? new[] { false, true } : [false];
            Names = Enumerable.Range(0, g.Layers).SelectMany(l => kinds.Select(v => g.PastName(l, v))).ToList();
            PresentNames = Enumerable.Range(0, g.Layers).SelectMany(l => kinds.Select(v => g.PresentName(l, v))).ToList();
            long[] shape = g.Layout == KvLayout.Separate ? [n, m.Info.KvHeads, 0, m.Info.HeadDim] : [2, n, m.Info.KvHeads, 0, m.Info.HeadDim];
            Values = Names.Select(_ => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, g.CacheType, shape)).ToArray();
        }

        public IReadOnlyList<string> Names { get; }
        public IReadOnlyList<string> PresentNames { get; }
        public OrtValue[] Values { get; private set; }
        public int Length { get; private set; }

        public void Replace(OrtValue[] presents, int length)
        {
            foreach (var v in Values) v.Dispose();
            Values = presents;
            Length = length;
        }

        public void Dispose() { foreach (var v in Values) v.Dispose(); }
    }

    /// <summary>What one call asks of the graph: pattern outputs to fetch and their reducers, and the control tensors.</summary>
    private sealed class CallPlan
    {
        private readonly Dictionary<int, List<IAttentionRowReducer>> _reducers = new();

        private readonly Dictionary<int, Controls?> _controlsByActive = new();
        private IReadOnlyList<HeadIntervention> _interventions = [];
        private OnnxLanguageModel? _model;

        public List<int> PatternLayers { get; } = [];
        public bool Captures => PatternLayers.Count > 0;
        public bool[]? Finished { get; set; }

        /// <summary>Positions where an intervention starts acting (its <see cref="HeadIntervention.FromPosition"/>); a graph run
        /// never spans one, so each run has one set of controls.</summary>
        public IReadOnlyList<int> Boundaries { get; private set; } = [];

        /// <summary>The controls of a run over positions <c>[past, past + t)</c>: the interventions acting from <c>past</c> on,
        /// or null when none does (the graph's identity defaults).</summary>
        /// <exception cref="InvalidOperationException">The run spans a boundary (a bug in the caller's chunking).</exception>
        public Controls? ControlsAt(int past, int t)
        {
            if (_interventions.Count == 0) return null;
            if (Boundaries.Any(b => b > past && b < past + t))
                throw new InvalidOperationException($"internal: a graph run over positions [{past}, {past + t}) spans an intervention boundary");
            // the interventions acting at `past` are those with FromPosition ≤ past, so their count names the set; they are
            // composed in request order
            int active = _interventions.Count(iv => iv.FromPosition <= past);
            if (!_controlsByActive.TryGetValue(active, out var c))
                _controlsByActive[active] = c = active == 0 ? null : Controls.Build(_model!, _interventions.Where(iv => iv.FromPosition <= past).ToList());
            return c;
        }

        /// <exception cref="NotSupportedException">A reducer wants a layer whose pattern is not a graph output, or an intervention
        /// needs control inputs the graph lacks, or the intervention kind is not supported.</exception>
        /// <exception cref="ArgumentException">A head out of range or a bad parameter.</exception>
        public static CallPlan Create(OnnxLanguageModel m, IReadOnlyList<IAttentionRowReducer> captures, IReadOnlyList<HeadIntervention> interventions)
        {
            var plan = new CallPlan();
            var info = m.Info;
            foreach (var r in captures)
            {
                ArgumentNullException.ThrowIfNull(r, nameof(captures));
                for (int l = 0; l < info.Layers; l++)
                {
                    if (r.Layers is not null && !r.Layers.Contains(l)) continue;
                    if (!m._graph.PatternLayers.Contains(l))
                        throw new NotSupportedException($"{m._graph.File}: the graph has no output '{ActivationNames.Pattern(l)}' (attention probabilities), which the metric needs; "
                            + "standard exports fuse attention and hide it — export the model with `attneval export-onnx` (all layers by default).");
                    if (!plan._reducers.TryGetValue(l, out var list)) plan._reducers[l] = list = [];
                    list.Add(r);
                }
            }
            plan.PatternLayers.AddRange(plan._reducers.Keys.Order());
            if (interventions.Count > 0)
            {
                // every check (types, heads, parameters) before any run; the result is the controls once all act
                plan._controlsByActive[interventions.Count] = Controls.Build(m, interventions);
                plan._model = m;
                plan._interventions = interventions;
                plan.Boundaries = interventions.Select(iv => iv.FromPosition).Where(b => b > 0).Distinct().Order().ToList();
            }
            return plan;
        }

        /// <summary>Hands the rows of <c>[N, H, Tq, Tk]</c> pattern output to the layer's reducers, one block per unfinished sequence.</summary>
        public void Deliver(int layer, OrtValue pattern, int queryStart)
        {
            var dims = pattern.GetTensorTypeAndShape().Shape;
            int b = (int)dims[0], h = (int)dims[1], c = (int)dims[2], tk = (int)dims[3], per = h * c * tk;
            var all = pattern.GetTensorDataAsSpan<float>();
            for (int s = 0; s < b; s++)
            {
                if (Finished is { } done && s < done.Length && done[s]) continue;
                var block = new AttentionRowBlock(s, layer, queryStart, c, h, tk, all.Slice(s * per, per));
                foreach (var r in _reducers[layer]) r.Accept(block);
            }
        }
    }

    /// <summary>The control inputs of one call (specs/head-methods.md §0): per (layer, head) a query scale, a 0/1 uniform flag,
    /// and an affine map z ← z_scale·z + z_bias of the head output, composed in request order.</summary>
    private sealed record Controls(float[] QScale, float[] ZScale, float[] Uniform, float[] ZBias)
    {
        public static Controls Build(OnnxLanguageModel m, IReadOnlyList<HeadIntervention> interventions)
        {
            var info = m.Info;
            if (!m._graph.HasInterventionInputs)
            {
                var missing = new[] { DecoderGraph.QScale, DecoderGraph.ZScale, DecoderGraph.UniformFlag, DecoderGraph.ZBias }.First(x => !m._graph.Controls.Contains(x));
                throw new NotSupportedException($"{m._graph.File}: the graph has no input '{missing}' (head-intervention controls); export the model with `attneval export-onnx` to apply interventions.");
            }
            int l = info.Layers, h = info.Heads, d = info.HeadDim;
            var c = new Controls(Enumerable.Repeat(1f, l * h).ToArray(), Enumerable.Repeat(1f, l * h).ToArray(), new float[l * h], new float[l * h * d]);
            foreach (var iv in interventions)
            {
                ArgumentNullException.ThrowIfNull(iv, nameof(interventions));
                if (!InterventionTypes.Contains(iv.GetType()))
                    throw new NotSupportedException($"intervention {iv.GetType().Name} is not supported by the onnx backend (supported: {string.Join(", ", InterventionTypes.Select(x => x.Name))}).");
                if (iv.Head.Layer < 0 || iv.Head.Layer >= l || iv.Head.Head < 0 || iv.Head.Head >= h)
                    throw new ArgumentException($"intervention {iv} names head {iv.Head}, outside {l} layers × {h} heads.", nameof(interventions));
                int at = iv.Head.Layer * h + iv.Head.Head;
                var bias = c.ZBias.AsSpan(at * d, d);
                switch (iv)
                {
                    case ScaleQuery sq:
                        if (!double.IsFinite(sq.Epsilon)) throw new ArgumentException($"{iv}: epsilon must be finite.", nameof(interventions));
                        c.QScale[at] *= (float)sq.Epsilon; break;
                    case UniformAttention: c.Uniform[at] = 1; break;
                    case ScaleOutput so:
                        if (!double.IsFinite(so.Epsilon)) throw new ArgumentException($"{iv}: epsilon must be finite.", nameof(interventions));
                        c.ZScale[at] *= (float)so.Epsilon;
                        foreach (ref var x in bias) x *= (float)so.Epsilon;
                        break;
                    case ZeroOutput: c.ZScale[at] = 0; bias.Clear(); break;
                    case MeanOutput mo:
                        if (mo.Mean.Count != d) throw new ArgumentException($"{iv}: mean has {mo.Mean.Count} values, expected d_head = {d}.", nameof(interventions));
                        c.ZScale[at] = 0;
                        for (int i = 0; i < d; i++) bias[i] = mo.Mean[i];
                        break;
                }
            }
            return c;
        }
    }
}
