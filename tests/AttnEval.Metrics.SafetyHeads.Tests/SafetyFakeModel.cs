using AttnEval.Abstractions;

namespace AttnEval.Metrics.SafetyHeads.Tests;

/// <summary>
/// A hand-written 3-layer × 4-head model whose last-position logits depend on which heads are ablated, in a way whose
/// generalized-Ships angles are known in closed form. Query q (of six flagged ones) has logits <c>x_q · w</c> with
/// <c>w = [1, −1, .5, −.5, 0, …]</c> (zero mean, so the centred log-probabilities are exactly <c>x_q · w</c>) and
/// <c>x = (s + Σ_{ablated h} c_h) · (3 if E ablated)</c>, where s = 3·(1,1,1,1,1,1) and c_A, c_B, c_C are mutually
/// orthogonal and orthogonal to s, of norms 2√6, 3 and √3; every other head adds a deterministic 0.01-scale vector. The
/// generalized-Ships angle of a set is then <c>atan(|Σ c| / |s|)</c>: A alone 33.69°, B 22.21°, C 13.26°, E 0° (it only
/// rescales, yet has the largest per-query KL). Generation: flagged prompts are refused unless both A and B are ablated;
/// benign prompts are always answered with their target.
/// </summary>
internal sealed class SafetyFakeModel : ILanguageModel
{
    public static readonly HeadId A = new(1, 2), B = new(2, 0), C = new(0, 3), E = new(0, 1);
    public const string Refusal = "I cannot help with that.";
    public const string Compliance = "Sure, here is how: open the vault with the code 4417.";
    private static readonly double[] W = [1, -1, 0.5, -0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly double[] S = [3, 3, 3, 3, 3, 3];
    private static readonly Dictionary<HeadId, double[]> Effects = new()
    {
        [A] = [2, -2, 2, -2, 2, -2],
        [B] = [1.5, 1.5, -1.5, -1.5, 0, 0],
        [C] = [0.5, 0.5, 0.5, 0.5, -1, -1],
    };

    private readonly IReadOnlyList<string> _prompts;
    private readonly IReadOnlyDictionary<string, string> _benignAnswers;

    /// <param name="flagged">The six flagged prompt texts (query index 0–5).</param>
    /// <param name="benign">Benign prompt texts and their answers.</param>
    public SafetyFakeModel(IReadOnlyList<string> flagged, IReadOnlyDictionary<string, string> benign)
    {
        if (flagged.Count != S.Length) throw new ArgumentException("the fake has six flagged queries");
        _prompts = [.. flagged, .. benign.Keys];
        _benignAnswers = benign;
        Tokenizer = new Tok(this);
    }

    public ModelInfo Info { get; } = new("fake-safety", 3, 4, 4, 16, 16, 64, "float32", "cpu") { Name = "fake-safety" };
    public ITokenizer Tokenizer { get; }
    public IReadOnlySet<Type> SupportedInterventions { get; } = new HashSet<Type> { typeof(ScaleQuery), typeof(ScaleOutput), typeof(UniformAttention), typeof(ZeroOutput) };
    public bool SupportsAttentionCapture => false;

    public int ScoreCalls { get; private set; }
    public int GenerateCalls { get; private set; }
    public List<HeadIntervention> Seen { get; } = [];

    private HashSet<HeadId> Ablated(IReadOnlyList<HeadIntervention> interventions)
    {
        Seen.AddRange(interventions);
        return interventions.Where(i => i is not ScaleQuery sq || sq.Epsilon < 0.5).Select(i => i.Head).ToHashSet();
    }

    private static double Noise(HeadId h, int q) => 0.01 * Math.Sin(1.7 * (h.Layer * 4 + h.Head) + 2.3 * q);

    public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        ScoreCalls++;
        var ablated = Ablated(request.Interventions);
        int q = request.Tokens[request.From - 1] - 2;
        if (q < 0 || q >= S.Length) throw new InvalidOperationException("the fake scores flagged queries only");
        double x = S[q];
        foreach (var h in ablated)
            x += Effects.TryGetValue(h, out var c) ? c[q] : h == E ? 0 : Noise(h, q);
        if (ablated.Contains(E)) x *= 3;
        var z = W.Select(w => x * w).ToArray();
        double max = z.Max(), lse = max + Math.Log(z.Sum(v => Math.Exp(v - max)));
        var top = Enumerable.Range(0, z.Length).Select(v => new TokenLogProb(v, (float)(z[v] - lse))).OrderByDescending(t => t.LogProb).ToList();
        return new TokenScores([request.Tokens[^1]], [top.First(t => t.Token == request.Tokens[^1]).LogProb], [0f], [top]);
    }

    public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        GenerateCalls++;
        var ablated = Ablated(request.Interventions);
        var prompt = _prompts[request.PromptTokens[^1] - 2];
        var text = _benignAnswers.TryGetValue(prompt, out var answer) ? answer
            : ablated.Contains(A) && ablated.Contains(B) ? Compliance : Refusal;
        var seq = new GeneratedSequence(new TokenScores([3], [-0.1f], [0.2f]), text, FinishReason.StopToken);
        return new GenerationResult(request.PromptTokens, [seq]);
    }

    public void Dispose() { }

    private sealed class Tok(SafetyFakeModel m) : ITokenizer
    {
        public int VocabSize => 16;
        public int? BosId => 1;
        public int? EosId => 0;
        public IReadOnlyList<int> StopIds => [0];
        public IReadOnlyList<int> Encode(string text, bool addBos = false)
        {
            int i = m._prompts.ToList().IndexOf(text);
            if (i < 0) throw new ArgumentException($"unknown prompt '{text}'");
            return addBos ? [1, 2 + i] : [2 + i];
        }
        public string Decode(IEnumerable<int> ids) => string.Join(" ", ids);
        public string TokenText(int id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
