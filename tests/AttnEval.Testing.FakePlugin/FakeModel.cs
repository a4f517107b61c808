using System.Text.Json;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;

namespace AttnEval.Testing.FakePlugin;

/// <summary>Settings of the fake model, read from its JSON file.</summary>
public sealed record FakeModelConfig(int DelayMs = 0, int Layers = 2, int Heads = 2, long Seed = 1, string[]? CrashOnPromptContaining = null);

/// <summary>Backend "fake": loads a JSON file of <see cref="FakeModelConfig"/>.</summary>
public sealed class FakeBackend : IModelBackend
{
    /// <inheritdoc />
    public string Name => "fake";
    /// <inheritdoc />
    public bool IsAvailable(string device, out string reason)
    {
        reason = device == "cpu" ? "" : $"the fake backend runs on cpu only, not '{device}'";
        return device == "cpu";
    }
    /// <inheritdoc />
    public ILanguageModel Load(ModelSource source, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(source.Path)) throw new ModelLoadException($"{source.Path}: fake model file not found");
        var cfg = JsonSerializer.Deserialize<FakeModelConfig>(File.ReadAllText(source.Path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
                  ?? throw new ModelLoadException($"{source.Path}: empty fake model file");
        return new FakeModel(cfg, Path.GetFileNameWithoutExtension(source.Path));
    }
}

/// <summary>Character tokenizer: 0 = BOS, 1 = EOS, 2 + (c − 32) for printable ASCII and newline as 97.</summary>
public sealed class CharTokenizer : ITokenizer
{
    /// <inheritdoc />
    public int VocabSize => 98;
    /// <inheritdoc />
    public int? BosId => 0;
    /// <inheritdoc />
    public int? EosId => 1;
    /// <inheritdoc />
    public IReadOnlyList<int> StopIds => [1];
    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        var ids = new List<int>(text.Length + 1);
        if (addBos) ids.Add(0);
        foreach (var c in text) ids.Add(c == '\n' ? 97 : c is >= ' ' and <= '~' ? 2 + (c - ' ') : 2);
        return ids;
    }
    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Where(i => i >= 2).Select(TokenText));
    /// <inheritdoc />
    public string TokenText(int id) => id switch { 0 => "<s>", 1 => "</s>", 97 => "\n", _ => ((char)(' ' + id - 2)).ToString() };
}

/// <summary>
/// A deterministic stand-in for a language model. It "answers" an addition <c>a+b</c> found in the prompt,
/// right or wrong depending on a hash of the prompt, with token log-probabilities that are higher when it is
/// right. Attention rows are a softmax of hashed scores, so reducers see real, normalised causal rows.
/// </summary>
public sealed class FakeModel(FakeModelConfig config, string name) : ILanguageModel
{
    private static readonly Regex Sum = new(@"(\d+)\s*\+\s*(\d+)", RegexOptions.RightToLeft);

    /// <inheritdoc />
    public ModelInfo Info { get; } = new("fake", config.Layers, config.Heads, config.Heads, 16, 98, 4096, "float32", "cpu") { Name = name, WeightsSha256 = "fake" };
    /// <inheritdoc />
    public ITokenizer Tokenizer { get; } = new CharTokenizer();
    /// <inheritdoc />
    public IReadOnlySet<Type> SupportedInterventions { get; } = new HashSet<Type>();
    /// <inheritdoc />
    public bool SupportsAttentionCapture => true;

    /// <inheritdoc />
    public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        if (request.PromptTokens.Count == 0) throw new ArgumentException("empty prompt");
        if (config.DelayMs > 0) Thread.Sleep(config.DelayMs);
        var prompt = Tokenizer.Decode(request.PromptTokens);
        if (config.CrashOnPromptContaining?.Any(prompt.Contains) == true) throw new InvalidOperationException("fake model crash requested by its config");
        var sequences = new List<GeneratedSequence>();
        for (int k = 0; k < request.NumSequences; k++)
        {
            var seed = Hash(prompt) ^ (request.Sampling.IsGreedy ? 0 : request.Sampling.Seed + k + 1) ^ config.Seed;
            var m = Sum.Match(prompt);
            long truth = m.Success ? long.Parse(m.Groups[1].Value) + long.Parse(m.Groups[2].Value) : 0;
            bool right = Mod(seed, 3) != 0;
            long said = right ? truth : truth + 1 + Mod(seed >> 8, 9);
            var text = $" {said}\n#### {said}";
            var ids = Tokenizer.Encode(text).Append(1).Take(request.MaxNewTokens).ToList();
            var lps = new float[ids.Count];
            var ents = new float[ids.Count];
            for (int t = 0; t < ids.Count; t++)
            {
                var u = (Mod(seed + 31 * t, 1000) + 1) / 1001.0;
                lps[t] = (float)(right ? -0.05 - 0.3 * u : -0.3 - 1.2 * u);
                ents[t] = (float)(right ? 0.2 + u : 0.8 + 2 * u);
            }
            var all = request.PromptTokens.Concat(ids).ToList();
            foreach (var r in request.Captures) Capture(r, all, k);
            var finish = ids[^1] == 1 ? FinishReason.StopToken : FinishReason.Length;
            sequences.Add(new GeneratedSequence(new TokenScores(ids, lps, ents), Tokenizer.Decode(ids), finish));
        }
        return new GenerationResult(request.PromptTokens, sequences);
    }

    /// <inheritdoc />
    public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        if (request.From < 1 || request.From > request.Tokens.Count) throw new ArgumentException($"From {request.From} outside [1, {request.Tokens.Count}]");
        var n = request.Tokens.Count - request.From;
        var lps = new float[n];
        var ents = new float[n];
        for (int t = 0; t < n; t++) { lps[t] = -0.5f; ents[t] = 1f; }
        foreach (var r in request.Captures) Capture(r, request.Tokens, 0);
        return new TokenScores(request.Tokens.Skip(request.From).ToList(), lps, ents);
    }

    private void Capture(IAttentionRowReducer reducer, IReadOnlyList<int> tokens, int sequence)
    {
        int T = tokens.Count;
        for (int l = 0; l < Info.Layers; l++)
        {
            if (reducer.Layers is { } wanted && !wanted.Contains(l)) continue;
            var w = new float[Info.Heads * T * T];
            for (int h = 0; h < Info.Heads; h++)
                for (int i = 0; i < T; i++)
                {
                    double z = 0;
                    var row = w.AsSpan((h * T + i) * T, T);
                    for (int j = 0; j <= i; j++) { row[j] = (float)Math.Exp(Mod(tokens[j] * 7919 + tokens[i] * 31 + l * 17 + h * 5, 100) / 25.0); z += row[j]; }
                    for (int j = 0; j <= i; j++) row[j] = (float)(row[j] / z);
                }
            reducer.Accept(new AttentionRowBlock(sequence, l, 0, T, Info.Heads, T, w));
        }
    }

    private static long Hash(string s)
    {
        ulong h = 1469598103934665603UL;
        foreach (var c in s) { h ^= c; h *= 1099511628211UL; }
        return (long)(h >> 1);
    }

    private static long Mod(long x, long m) => ((x % m) + m) % m;

    /// <inheritdoc />
    public void Dispose() { }
}
