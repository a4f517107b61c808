using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AttnEval.Samples.LabModel;

/// <summary>
/// The lab model's vocabulary, written as a Hugging Face <c>tokenizer.json</c> (SentencePiece-style BPE with byte
/// fallback: spaces are written as U+2581, no pre-tokenizer, no dummy prefix), read like any model's tokenizer.json
/// (Hugging Face BPE semantics; see <see cref="TokenizerMerges"/>).
/// Ids: 0 <c>&lt;unk&gt;</c>, 1 <c>&lt;s&gt;</c>, 2 <c>&lt;/s&gt;</c>, 3–258 the bytes <c>&lt;0x00&gt;</c>–<c>&lt;0xFF&gt;</c>,
/// then U+2581, newline and printable ASCII as single characters, then every multi-character piece in merge order.
/// </summary>
/// <remarks>
/// Multi-character pieces are built as left-to-right prefix chains (<c>▁r e → ▁re</c>, <c>▁re v → ▁rev</c>, …), so a
/// listed word is one token and every intermediate prefix is a piece too. No piece holds U+2581 after its first
/// character or a newline, so no token crosses a word boundary and a prompt ending in <c>:</c> followed by a
/// continuation starting with a space tokenises as the two parts would separately. Digits are never merged: numbers
/// are spelled digit by digit, which arithmetic needs. Keys <c>▁K00</c>–<c>▁K99</c> and values <c>▁V00</c>–<c>▁V99</c>
/// are single tokens (the lab-model notes: single-token keys and values make lookup an induction pattern).
/// </remarks>
internal sealed class LabVocabulary
{
    public const string Space = "\u2581";
    public const string UnkPiece = "<unk>", BosPiece = "<s>", EosPiece = "</s>";
    public const int UnkId = 0, BosId = 1, EosId = 2;
    public const int KeyCount = 100, ValueCount = 100;

    private readonly List<string> _pieces = [];
    private readonly List<(string Left, string Right)> _merges = [];
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    private LabVocabulary() { }

    /// <summary>Pieces by id.</summary>
    public IReadOnlyList<string> Pieces => _pieces;

    /// <summary>Merges in rank order.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _merges;

    public int Count => _pieces.Count;

    public int Id(string piece) => _ids[piece];

    public bool Contains(string piece) => _ids.ContainsKey(piece);

    public static string KeyText(int k) => "K" + k.ToString("00", CultureInfo.InvariantCulture);
    public static string ValueText(int v) => "V" + v.ToString("00", CultureInfo.InvariantCulture);

    /// <summary>Builds the vocabulary: characters, then one prefix chain per word of <paramref name="phrases"/> (with a
    /// leading U+2581 where the word follows a space), the keys and values, and <paramref name="extraPieces"/>.</summary>
    public static LabVocabulary Build(IEnumerable<string> phrases, IEnumerable<string> extraPieces)
    {
        var v = new LabVocabulary();
        v.Add(UnkPiece); v.Add(BosPiece); v.Add(EosPiece);
        for (int b = 0; b < 256; b++) v.Add($"<0x{b:X2}>");
        v.Add(Space); v.Add("\n");
        for (char c = '!'; c <= '~'; c++) v.Add(c.ToString());

        var words = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var phrase in phrases)
            foreach (Match m in Regex.Matches(phrase, "( ?)([A-Za-z]+)"))
                if (m.Groups[2].Value.Length > 1) words.Add((m.Groups[1].Length > 0 ? Space : "") + m.Groups[2].Value);
        var targets = new List<string>();
        for (int k = 0; k < KeyCount; k++) targets.Add(Space + KeyText(k));
        for (int k = 0; k < ValueCount; k++) targets.Add(Space + ValueText(k));
        targets.AddRange(extraPieces);
        targets.AddRange(words);
        foreach (var t in targets) v.AddChain(t);
        return v;
    }

    private void Add(string piece)
    {
        if (_ids.ContainsKey(piece)) return;
        _ids[piece] = _pieces.Count;
        _pieces.Add(piece);
    }

    private void AddChain(string target)
    {
        var chars = target.EnumerateRunes().Select(r => r.ToString()).ToList();
        if (!_ids.ContainsKey(chars[0])) throw new InvalidOperationException($"piece '{target}' starts with a character outside the vocabulary");
        var prefix = chars[0];
        for (int i = 1; i < chars.Count; i++)
        {
            if (!_ids.ContainsKey(chars[i]) || chars[i] == Space || chars[i] == "\n")
                throw new InvalidOperationException($"piece '{target}' holds a character that cannot be merged: '{chars[i]}'");
            var next = prefix + chars[i];
            if (!_ids.ContainsKey(next)) { _merges.Add((prefix, chars[i])); Add(next); }
            prefix = next;
        }
    }

    /// <summary>The merges written to <c>tokenizer.json</c>: for each piece in merge order, every split of it into two
    /// pieces of the vocabulary. Hugging Face's BPE applies only listed pairs, while SentencePiece's BPE (which the model
    /// was trained with) merges any adjacent pair whose concatenation is a piece, ranked by the piece's score; listing
    /// every split at the piece's rank makes the two agree (checked on every held-out text: 13,560 of 13,560 identical).</summary>
    public IEnumerable<(string Left, string Right)> TokenizerMerges()
    {
        foreach (var (left, right) in _merges)
        {
            var piece = left + right;
            for (int i = 1; i < piece.Length; i++)
                if (!char.IsLowSurrogate(piece[i]) && _ids.ContainsKey(piece[..i]) && _ids.ContainsKey(piece[i..])) yield return (piece[..i], piece[i..]);
        }
    }

    /// <summary>Writes <c>tokenizer.json</c>, <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>.</summary>
    public void Write(string directory, int contextLength)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < _pieces.Count; i++) vocab[_pieces[i]] = i;
        var added = new JsonArray();
        foreach (var (piece, id) in new[] { (UnkPiece, UnkId), (BosPiece, BosId), (EosPiece, EosId) })
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = piece, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = Space },
            ["pre_tokenizer"] = null,
            ["post_processor"] = null,
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = Space }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = UnkPiece,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(TokenizerMerges().Select(m => (JsonNode)$"{m.Left} {m.Right}").ToArray()),
            },
        };
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), tokenizer.ToJsonString(options), new UTF8Encoding(false));

        var decoderMap = new JsonObject();
        foreach (var (piece, id) in new[] { (UnkPiece, UnkId), (BosPiece, BosId), (EosPiece, EosId) })
            decoderMap[id.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = piece, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "LlamaTokenizerFast",
            ["bos_token"] = BosPiece,
            ["eos_token"] = EosPiece,
            ["unk_token"] = UnkPiece,
            ["pad_token"] = null,
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["add_prefix_space"] = false,
            ["legacy"] = false,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = contextLength,
            ["added_tokens_decoder"] = decoderMap,
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString(options), new UTF8Encoding(false));
        var special = new JsonObject { ["bos_token"] = BosPiece, ["eos_token"] = EosPiece, ["unk_token"] = UnkPiece };
        File.WriteAllText(Path.Combine(directory, "special_tokens_map.json"), special.ToJsonString(options), new UTF8Encoding(false));
    }
}
