using AttnEval.Abstractions;

namespace AttnEval.Decoding;

/// <summary>
/// The continuations of one <see cref="ILanguageModel.Generate"/> call while a backend decodes them step by step: per sequence
/// the chosen tokens, their log-probabilities and entropies (temperature-1 distribution, nats), optional top alternatives, and
/// why it ended — a stop token (the request's or the tokenizer's <see cref="ITokenizer.StopIds"/>; kept in the output), a stop
/// string in the decoded text (the text is cut before it), <see cref="GenerationRequest.MaxNewTokens"/>, or the context limit.
/// </summary>
public sealed class SequenceBook
{
    private readonly GenerationRequest _request;
    private readonly ITokenizer _tokenizer;
    private readonly int _promptLength, _context;
    private readonly HashSet<int> _stops;
    private readonly List<int>[] _tokens;
    private readonly List<float>[] _logProbs, _entropies;
    private readonly List<IReadOnlyList<TokenLogProb>>[]? _tops;
    private readonly FinishReason?[] _finish;
    private readonly string?[] _texts;

    /// <summary>Starts the book of a checked request (see <see cref="DecodingChecks.CheckGenerate"/>).</summary>
    /// <param name="request">The request.</param>
    /// <param name="tokenizer">Decodes text for stop strings and the results.</param>
    /// <param name="contextLength">The model's context in tokens.</param>
    public SequenceBook(GenerationRequest request, ITokenizer tokenizer, int contextLength)
    {
        _request = request; _tokenizer = tokenizer; _context = contextLength;
        _promptLength = request.PromptTokens.Count;
        int n = request.NumSequences;
        _stops = request.StopTokens.Concat(tokenizer.StopIds).ToHashSet();
        _tokens = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        _logProbs = Enumerable.Range(0, n).Select(_ => new List<float>()).ToArray();
        _entropies = Enumerable.Range(0, n).Select(_ => new List<float>()).ToArray();
        _tops = request.TopLogProbs > 0 ? Enumerable.Range(0, n).Select(_ => new List<IReadOnlyList<TokenLogProb>>()).ToArray() : null;
        _finish = new FinishReason?[n];
        _texts = new string?[n];
        Finished = new bool[n];
    }

    /// <summary>Decoding steps to run at most: MaxNewTokens, capped by the room left in the context.</summary>
    public int MaxSteps => Math.Min(_request.MaxNewTokens, _context - _promptLength);

    /// <summary>Per sequence, true once it has ended (backends stop delivering its attention rows).</summary>
    public bool[] Finished { get; }

    /// <summary>True when every sequence has ended.</summary>
    public bool AllFinished => Finished.All(f => f);

    /// <summary>Records the token chosen for sequence <paramref name="k"/> and applies the stop rules; ignored once the sequence has ended.</summary>
    /// <param name="k">Sequence index.</param>
    /// <param name="token">Chosen id.</param>
    /// <param name="logProb">Its log-probability under the temperature-1 distribution, ≤ 0.</param>
    /// <param name="entropy">Entropy of that distribution in nats.</param>
    /// <param name="top">Top alternatives when requested, else null.</param>
    public void Add(int k, int token, float logProb, float entropy, IReadOnlyList<TokenLogProb>? top)
    {
        if (Finished[k]) return;
        var toks = _tokens[k];
        toks.Add(token); _logProbs[k].Add(logProb); _entropies[k].Add(entropy);
        if (top is not null) _tops?[k].Add(top);
        if (_stops.Contains(token)) _finish[k] = FinishReason.StopToken;
        else if (_request.StopStrings.Count > 0 && CutAtStopString(_tokenizer.Decode(toks), _request.StopStrings) is { } cut)
        { _finish[k] = FinishReason.StopString; _texts[k] = cut; }
        else if (toks.Count >= _request.MaxNewTokens) _finish[k] = FinishReason.Length;
        else if (_promptLength + toks.Count >= _context) _finish[k] = FinishReason.ContextFull;
        Finished[k] = _finish[k] is not null;
    }

    /// <summary>The result of the call.</summary>
    public GenerationResult Result() => new(_request.PromptTokens.ToList(), Enumerable.Range(0, _tokens.Length).Select(k => new GeneratedSequence(
        new TokenScores(_tokens[k], _logProbs[k], _entropies[k], _tops?[k]),
        _texts[k] ?? _tokenizer.Decode(_tokens[k]),
        _finish[k] ?? FinishReason.Length)).ToList());

    /// <summary>The text before the earliest stop string, or null when none occurs (empty stop strings are ignored).</summary>
    public static string? CutAtStopString(string text, IReadOnlyList<string> stopStrings)
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
}
