using AttnEval.Abstractions;
using Microsoft.ML.Tokenizers;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary><see cref="ITokenizer"/> over a Microsoft.ML.Tokenizers tokenizer (which never adds BOS itself).</summary>
public sealed class LibraryTokenizer : ITokenizerDetails
{
    private readonly Tokenizer _inner;
    private readonly HashSet<int> _special;
    private readonly Func<int, string> _tokenText;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The library tokenizer; it must not add BOS/EOS itself.</param>
    /// <param name="vocabSize">The model's vocabulary size (decoding an id ≥ it is an error).</param>
    /// <param name="bosId">Beginning-of-sequence id, or null.</param>
    /// <param name="eosId">End-of-sequence id, or null.</param>
    /// <param name="stopIds">Ids that end generation (EOS is added).</param>
    /// <param name="specialIds">Ids dropped when decoding (BOS and EOS are added).</param>
    /// <param name="tokenText">Display text of one id; default: the library's decoding of that id.</param>
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

    /// <inheritdoc />
    public int VocabSize { get; }
    /// <inheritdoc />
    public int? BosId { get; }
    /// <inheritdoc />
    public int? EosId { get; }
    /// <inheritdoc />
    public IReadOnlyList<int> StopIds { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = text.Length == 0 ? [] : _inner.EncodeToIds(text);
        return addBos && BosId is { } b ? [b, .. ids] : ids.ToList();
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: true);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var kept = new List<int>();
        foreach (var i in ids)
        {
            if (i < 0 || i >= VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), i, $"token id {i} is outside the vocabulary of {VocabSize}.");
            if (!(skipSpecialTokens && _special.Contains(i))) kept.Add(i);
        }
        return _inner.Decode(kept) ?? "";
    }

    /// <inheritdoc />
    public string TokenString(int id) => id >= 0 && id < VocabSize ? _tokenText(id)
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary of {VocabSize}.");

    /// <inheritdoc />
    public string TokenText(int id) => id < 0 || id >= VocabSize ? "" : _tokenText(id);
}
