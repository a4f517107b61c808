using AttnEval.Abstractions;
using Microsoft.ML.Tokenizers;

namespace AttnEval.Backends.TorchSharp.Tokenization;

/// <summary><see cref="ITokenizer"/> over a Microsoft.ML.Tokenizers tokenizer (which never adds BOS itself).</summary>
internal sealed class LibraryTokenizer : ITokenizer
{
    private readonly Tokenizer _inner;
    private readonly HashSet<int> _special;
    private readonly Func<int, string> _tokenText;

    public LibraryTokenizer(Tokenizer inner, int vocabSize, int? bosId, int? eosId, IEnumerable<int> stopIds, IEnumerable<int> specialIds, Func<int, string>? tokenText = null)
    {
        _inner = inner;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        StopIds = stopIds.Concat(eosId is { } e ? [e] : []).Distinct().Order().ToList();
        _special = specialIds.Concat(bosId is { } b ? [b] : []).Concat(eosId is { } e2 ? [e2] : []).ToHashSet();
        _tokenText = tokenText ?? (id => inner.Decode([id]) ?? "");
    }

    /// <summary>The library tokenizer.</summary>
    public Tokenizer Inner => _inner;

    public int VocabSize { get; }
    public int? BosId { get; }
    public int? EosId { get; }
    public IReadOnlyList<int> StopIds { get; }

    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = text.Length == 0 ? [] : _inner.EncodeToIds(text);
        return addBos && BosId is { } b ? [b, .. ids] : ids.ToList();
    }

    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids.Where(i => !_special.Contains(i) && i >= 0 && i < VocabSize)) ?? "";

    public string TokenText(int id) => id < 0 || id >= VocabSize ? "" : _tokenText(id);
}
