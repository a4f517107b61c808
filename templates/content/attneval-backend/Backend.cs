using System.Globalization;
using System.Security.Cryptography;
using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEvalBackend;

/// <summary>The plugin's entry point: the host creates it and lets it register its exports.</summary>
public sealed class Plugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "AttnEvalBackend";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IModelBackend, Backend>();
}

/// <summary>
/// The backend <c>my-backend</c> (<c>model: { backend: my-backend, path: corpus.txt }</c> in a recipe). Its model is a
/// stand-in to replace by your runtime: a character bigram model counted from the UTF-8 text file at <c>model.path</c>
/// (each line a sequence between BOS and EOS, add-k smoothing). It is deterministic, and its log-probabilities and
/// entropies are exact, so the token-probability metrics (msp, perplexity, mean-token-entropy, ...) run on it; it has
/// no attention, so metrics that read attention rows are refused before a run starts.
/// </summary>
public sealed class Backend : IModelBackend
{
    /// <inheritdoc />
    public string Name => "my-backend";

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("smoothing", OptionType.Number, 1.0, "pseudo-count added to every bigram count") { Min = 1e-6, Max = 100 },
    ];

    /// <inheritdoc />
    public bool IsAvailable(string device, out string reason)
    {
        bool cpu = device == "cpu";
        reason = cpu ? "" : $"my-backend runs on cpu only, not '{device}'";
        return cpu;
    }

    /// <inheritdoc />
    public ILanguageModel Load(ModelSource source, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(source.Path))
            throw new ModelLoadException($"{source.Path}: not found; model.path of my-backend is a UTF-8 text file");
        var bytes = File.ReadAllBytes(source.Path);
        var lines = System.Text.Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0) throw new ModelLoadException($"{source.Path}: no text to count bigrams from");
        double smoothing = source.Options.TryGetValue("smoothing", out var s) ? double.Parse(s, CultureInfo.InvariantCulture) : 1.0;
        var info = new ModelInfo("char-bigram", Layers: 0, Heads: 0, KvHeads: 0, DModel: 0, VocabSize: 0, ContextLength: 4096, "float32", "cpu")
        {
            Name = Path.GetFileNameWithoutExtension(source.Path),
            WeightsSha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
        };
        return new BigramModel(lines, smoothing, info);
    }
}

/// <summary>Characters of the training text as tokens: 0 = BOS, 1 = EOS, 2 = a character the text lacks, then the
/// text's characters in ordinal order.</summary>
public sealed class CharTokenizer(IEnumerable<string> text) : ITokenizer
{
    private const int Unknown = 2, First = 3;
    private readonly char[] _chars = text.SelectMany(l => l).Distinct().Order().ToArray();

    /// <inheritdoc />
    public int VocabSize => _chars.Length + First;
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
        foreach (var c in text)
        {
            int i = Array.BinarySearch(_chars, c);
            ids.Add(i >= 0 ? First + i : Unknown);
        }
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Where(i => i >= Unknown).Select(TokenText));

    /// <inheritdoc />
    public string TokenText(int id) => id switch { 0 => "<s>", 1 => "</s>", Unknown => "\uFFFD", _ => _chars[id - First].ToString() };
}

/// <summary>The stand-in model: next-token log-probabilities from bigram counts, computed once at load.</summary>
public sealed class BigramModel : ILanguageModel
{
    private readonly float[] _logProbs;   // [previous token, next token], row-major
    private readonly float[] _entropies;  // per previous token
    private readonly int _vocab;

    /// <summary>Counts the bigrams of <paramref name="lines"/> (each between BOS and EOS) with add-<paramref name="smoothing"/>.</summary>
    public BigramModel(IReadOnlyList<string> lines, double smoothing, ModelInfo info)
    {
        var tokenizer = new CharTokenizer(lines);
        Tokenizer = tokenizer;
        _vocab = tokenizer.VocabSize;
        Info = info with { VocabSize = _vocab };
        var counts = new double[_vocab * _vocab];
        foreach (var line in lines)
        {
            var ids = tokenizer.Encode(line, addBos: true).Append(1).ToList();
            for (int t = 1; t < ids.Count; t++) counts[ids[t - 1] * _vocab + ids[t]]++;
        }
        _logProbs = new float[_vocab * _vocab];
        _entropies = new float[_vocab];
        for (int prev = 0; prev < _vocab; prev++)
        {
            var row = counts.AsSpan(prev * _vocab, _vocab);
            double total = 0;
            foreach (var c in row) total += c + smoothing;
            double entropy = 0;
            for (int next = 0; next < _vocab; next++)
            {
                double p = (row[next] + smoothing) / total;
                _logProbs[prev * _vocab + next] = (float)Math.Log(p);
                entropy -= p * Math.Log(p);
            }
            _entropies[prev] = (float)entropy;
        }
    }

    /// <inheritdoc />
    public ModelInfo Info { get; }
    /// <inheritdoc />
    public ITokenizer Tokenizer { get; }
    /// <inheritdoc />
    public IReadOnlySet<Type> SupportedInterventions { get; } = new HashSet<Type>();
    /// <inheritdoc />
    public bool SupportsAttentionCapture => false;

    /// <inheritdoc />
    public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        if (request.PromptTokens.Count == 0) throw new ArgumentException("empty prompt", nameof(request));
        Refuse(request.Captures.Count, request.Interventions.Count);
        var sampling = request.Sampling;
        if (sampling.TopK > 0 || sampling.TopP < 1) throw new NotSupportedException("my-backend samples from the full distribution: top_k and top_p are not supported");
        var stops = Tokenizer.StopIds.Concat(request.StopTokens).ToHashSet();
        var sequences = new List<GeneratedSequence>(request.NumSequences);
        for (int k = 0; k < request.NumSequences; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var random = new Random(unchecked((int)(sampling.Seed + k)));
            var (ids, logProbs, entropies, topK) = (new List<int>(), new List<float>(), new List<float>(), new List<IReadOnlyList<TokenLogProb>>());
            int previous = request.PromptTokens[^1];
            var finish = FinishReason.Length;
            string text = "";
            while (ids.Count < request.MaxNewTokens)
            {
                if (request.PromptTokens.Count + ids.Count >= Info.ContextLength) { finish = FinishReason.ContextFull; break; }
                var row = _logProbs.AsSpan(previous * _vocab, _vocab);
                int next = sampling.IsGreedy ? ArgMax(row) : Sample(row, sampling.Temperature, random);
                ids.Add(next);
                logProbs.Add(row[next]);
                entropies.Add(_entropies[previous]);
                if (request.TopLogProbs > 0) topK.Add(Top(row, request.TopLogProbs));
                previous = next;
                text = Tokenizer.Decode(ids);
                if (stops.Contains(next)) { finish = FinishReason.StopToken; break; }
                if (request.StopStrings.FirstOrDefault(text.Contains) is { } stop)
                {
                    text = text[..text.IndexOf(stop, StringComparison.Ordinal)];
                    finish = FinishReason.StopString;
                    break;
                }
            }
            var scores = new TokenScores(ids, logProbs, entropies, request.TopLogProbs > 0 ? topK : null);
            sequences.Add(new GeneratedSequence(scores, text, finish));
        }
        return new GenerationResult(request.PromptTokens, sequences);
    }

    /// <inheritdoc />
    public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
    {
        if (request.From < 1 || request.From > request.Tokens.Count)
            throw new ArgumentException($"From {request.From} outside [1, {request.Tokens.Count}]", nameof(request));
        Refuse(request.Captures.Count, request.Interventions.Count);
        var (logProbs, entropies, topK) = (new List<float>(), new List<float>(), new List<IReadOnlyList<TokenLogProb>>());
        for (int t = request.From; t < request.Tokens.Count; t++)
        {
            var row = _logProbs.AsSpan(request.Tokens[t - 1] * _vocab, _vocab);
            logProbs.Add(row[request.Tokens[t]]);
            entropies.Add(_entropies[request.Tokens[t - 1]]);
            if (request.TopLogProbs > 0) topK.Add(Top(row, request.TopLogProbs));
        }
        return new TokenScores(request.Tokens.Skip(request.From).ToList(), logProbs, entropies, request.TopLogProbs > 0 ? topK : null);
    }

    private static void Refuse(int captures, int interventions)
    {
        if (captures > 0) throw new NotSupportedException("my-backend has no attention: blocks.{l}.attn.hook_pattern rows cannot be captured");
        if (interventions > 0) throw new NotSupportedException("my-backend has no attention heads to intervene on");
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;   // ties go to the lowest id
        return best;
    }

    private static int Sample(ReadOnlySpan<float> row, double temperature, Random random)
    {
        var weights = new double[row.Length];
        double max = row[ArgMax(row)], total = 0;
        for (int i = 0; i < row.Length; i++) total += weights[i] = Math.Exp((row[i] - max) / temperature);
        double u = random.NextDouble() * total;
        for (int i = 0; i < row.Length; i++) if ((u -= weights[i]) < 0) return i;
        return row.Length - 1;
    }

    private static List<TokenLogProb> Top(ReadOnlySpan<float> row, int k) =>
        row.ToArray().Select((lp, id) => new TokenLogProb(id, lp)).OrderByDescending(x => x.LogProb).ThenBy(x => x.Token).Take(k).ToList();

    /// <inheritdoc />
    public void Dispose() { }
}
