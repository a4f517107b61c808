using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.ModelFiles.Tokenization.HuggingFace;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary>A Hugging Face <c>tokenizer.json</c> read faithfully (framework-anchors §6, DESIGN §5): added tokens are
/// matched first, then each remaining segment is normalized, pre-tokenized and encoded by the BPE model; the
/// post-processor adds the special tokens; the decoder and <c>clean_up_tokenization_spaces</c> turn ids back into text.
/// The BPE merges run in Microsoft.ML.Tokenizers; this class maps the JSON components onto it. Conformance with Hugging
/// Face's reference implementations is tested on the files of <c>data/tokenizers</c> (Llama 3, Qwen 3, Mistral,
/// DeepSeek V3, GPT-2 style).</summary>
/// <remarks>Python <c>transformers</c> rebuilds the post-processor of the Llama and Gemma tokenizer classes from
/// <c>add_bos_token</c>/<c>add_eos_token</c> of <c>tokenizer_config.json</c> when it loads them; this class does the
/// same (so DeepSeek V3's file, class <c>LlamaTokenizerFast</c>, gets its BOS as in Python, while the JavaScript
/// implementations and the Rust library alone do not add it).</remarks>
public sealed class HfTokenizer : ITokenizerDetails
{
    private static readonly HashSet<string> ClassesWithRebuiltPostProcessor =
        ["LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast"];

    private readonly AddedTokens _rawAdded;
    private readonly AddedTokens _normalizedAdded;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly TextNormalizer _normalizer;
    private readonly PreTokenizer _preTokenizer;
    private readonly BpeWordModel _model;
    private readonly PostProcessor _post;
    private readonly TokenDecoder _decoder;
    private readonly bool _cleanUp;

    private HfTokenizer(AddedTokens rawAdded, AddedTokens normalizedAdded, Dictionary<int, AddedToken> addedById, TextNormalizer normalizer,
        PreTokenizer preTokenizer, BpeWordModel model, PostProcessor post, TokenDecoder decoder, bool cleanUp,
        int vocabSize, int? bosId, int? eosId, IReadOnlyList<int> stopIds)
    {
        _rawAdded = rawAdded;
        _normalizedAdded = normalizedAdded;
        _addedById = addedById;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _post = post;
        _decoder = decoder;
        _cleanUp = cleanUp;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        StopIds = stopIds.Concat(eosId is { } e ? [e] : []).Distinct().Order().ToList();
    }

    /// <inheritdoc />
    public int VocabSize { get; }
    /// <inheritdoc />
    public int? BosId { get; }
    /// <inheritdoc />
    public int? EosId { get; }
    /// <inheritdoc />
    public IReadOnlyList<int> StopIds { get; }

    /// <summary>The ids the post-processor puts before a text when special tokens are added (e.g. <c>[BOS]</c>).</summary>
    public IReadOnlyList<int> SpecialPrefix => _post.Prefix;

    /// <summary>The ids the post-processor puts after a text when special tokens are added.</summary>
    public IReadOnlyList<int> SpecialSuffix => _post.Suffix;

    /// <summary>True when <c>clean_up_tokenization_spaces</c> applies to <see cref="Decode(IEnumerable{int}, bool)"/>.</summary>
    public bool CleansUpSpaces => _cleanUp;

    /// <summary>Reads <c>tokenizer.json</c> and, when present, <c>tokenizer_config.json</c> beside it.</summary>
    /// <param name="tokenizerJson">Path of <c>tokenizer.json</c>.</param>
    /// <param name="modelVocab">The model's vocabulary size (<c>vocab_size</c>); null for a tokenizer on its own (then the
    /// largest id + 1).</param>
    /// <param name="bosId">Beginning-of-sequence id (from the model's configs), or null to take <c>bos_token</c> of tokenizer_config.json.</param>
    /// <param name="eosIds">End-of-sequence ids (from the model's configs); empty to take <c>eos_token</c> of tokenizer_config.json.</param>
    /// <exception cref="ModelLoadException">A component AttnEval does not read, or a malformed file: the message names the file and the JSON path.</exception>
    public static HfTokenizer Load(string tokenizerJson, int? modelVocab = null, int? bosId = null, IReadOnlyList<int>? eosIds = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(tokenizerJson); }
        catch (IOException e) { throw new ModelLoadException($"{tokenizerJson}: cannot be read ({e.Message}).", e); }
        return FromJson(bytes, tokenizerJson, Path.GetDirectoryName(Path.GetFullPath(tokenizerJson))!, modelVocab, bosId, eosIds);
    }

    /// <summary>Reads GPT-2's <c>vocab.json</c> + <c>merges.txt</c> as the <c>tokenizer.json</c> Hugging Face converts
    /// them to: BPE, byte-level pre-tokenizer with GPT-2's pattern and no prefix space, byte-level decoder; added tokens
    /// from <c>added_tokens_decoder</c> of tokenizer_config.json beside them.</summary>
    /// <exception cref="ModelLoadException">A malformed file.</exception>
    public static HfTokenizer FromGpt2Files(string vocabJson, string mergesTxt, int? modelVocab = null, int? bosId = null, IReadOnlyList<int>? eosIds = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(vocabJson))!;
        var model = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "BPE",
            ["vocab"] = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllBytes(vocabJson)),
            ["merges"] = new System.Text.Json.Nodes.JsonArray(File.ReadLines(mergesTxt)
                .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
                .Select(l => (System.Text.Json.Nodes.JsonNode?)l).ToArray()),
        };
        var added = new System.Text.Json.Nodes.JsonArray();
        var configPath = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(configPath) && System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllBytes(configPath))?["added_tokens_decoder"] is System.Text.Json.Nodes.JsonObject dec)
            foreach (var (id, t) in dec)
                added.Add(new System.Text.Json.Nodes.JsonObject { ["id"] = int.Parse(id, System.Globalization.CultureInfo.InvariantCulture), ["content"] = t?["content"]?.DeepClone(), ["special"] = t?["special"]?.DeepClone() ?? true });
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["added_tokens"] = added,
            ["pre_tokenizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "ByteLevel" },
            ["model"] = model,
        };
        return FromJson(JsonSerializer.SerializeToUtf8Bytes(json), $"{vocabJson} + {Path.GetFileName(mergesTxt)}", dir, modelVocab, bosId, eosIds);
    }

    private static HfTokenizer FromJson(byte[] bytes, string tokenizerJson, string dir, int? modelVocab, int? bosId, IReadOnlyList<int>? eosIds)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new ModelLoadException($"{tokenizerJson}: not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            var root = new JsonSection(doc.RootElement, tokenizerJson, "$");
            var configPath = Path.Combine(dir, "tokenizer_config.json");
            ConfigReader? config = File.Exists(configPath) ? ConfigReader.Open(configPath) : null;

            var added = new List<AddedToken>();
            if (doc.RootElement.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
                foreach (var t in root.Items("added_tokens"))
                    added.Add(new AddedToken(
                        t.Int("id", -1) is var id and >= 0 ? id : throw t.Fail("has no non-negative \"id\""),
                        t.String("content") ?? throw t.Fail("has no \"content\""),
                        t.Bool("special", false), t.Bool("lstrip", false), t.Bool("rstrip", false), t.Bool("single_word", false), t.Bool("normalized", false)));
            var addedById = new Dictionary<int, AddedToken>();
            foreach (var t in added) addedById[t.Id] = t;
            var addedByContent = added.GroupBy(t => t.Content, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Id, StringComparer.Ordinal);

            var model = BpeWordModel.Read(root.Child("model"));
            JsonSection? Optional(string key) => doc.RootElement.TryGetProperty(key, out var v) ? new JsonSection(v, tokenizerJson, $"$.{key}") : null;
            int? TokenId(string token) => addedByContent.TryGetValue(token, out var i) ? i : model.Lookup(token);

            var post = PostProcessor.Read(Optional("post_processor"), TokenId);
            var tokenizerClass = config?.Element("tokenizer_class")?.GetString();
            string? bosToken = config?.TokenContent("bos_token"), eosToken = config?.TokenContent("eos_token");
            if (tokenizerClass is not null && ClassesWithRebuiltPostProcessor.Contains(tokenizerClass))
            {
                bool addBos = config!.Element("add_bos_token")?.ValueKind != JsonValueKind.False;
                bool addEos = config.Element("add_eos_token")?.ValueKind == JsonValueKind.True;
                int? b = bosToken is null ? null : TokenId(bosToken), e = eosToken is null ? null : TokenId(eosToken);
                post = new PostProcessor(addBos && b is { } bb ? [bb] : [], addEos && e is { } ee ? [ee] : []);
            }

            int maxId = Math.Max(model.IdToToken.Keys.DefaultIfEmpty(-1).Max(), addedById.Keys.DefaultIfEmpty(-1).Max());
            int vocab = modelVocab ?? maxId + 1;
            int? bos = bosId ?? (bosToken is null ? null : TokenId(bosToken));
            var eosList = eosIds is { Count: > 0 } ? eosIds : eosToken is not null && TokenId(eosToken) is { } eid ? [eid] : (IReadOnlyList<int>)[];
            bool cleanUp = config?.Element("clean_up_tokenization_spaces") is not { } cu || cu.ValueKind == JsonValueKind.True;

            return new HfTokenizer(
                new AddedTokens(added.Where(t => !t.Normalized)), new AddedTokens(added.Where(t => t.Normalized)), addedById,
                TextNormalizer.Read(Optional("normalizer")), PreTokenizer.Read(Optional("pre_tokenizer")), model, post,
                TokenDecoder.Read(Optional("decoder")), cleanUp, vocab, bos, eosList.Count > 0 ? eosList[0] : null, eosList);
        }
    }

    /// <summary>Encodes text as Hugging Face's <c>encode(text, add_special_tokens)</c> does. Text equal to an added
    /// token becomes that token whatever <paramref name="addBos"/> says (as in Hugging Face).</summary>
    /// <param name="text">Text to encode.</param>
    /// <param name="addBos">Add the special tokens of the post-processor (Hugging Face's <c>add_special_tokens=True</c>:
    /// BOS for Llama 2/Mistral/DeepSeek-style classes, nothing for Llama 3's early file or Qwen).</param>
    /// <exception cref="InvalidOperationException">An id is outside the model's vocabulary (the tokenizer does not fit the model).</exception>
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addBos) ids.AddRange(_post.Prefix);
        bool atStart = true;
        foreach (var (raw, token) in _rawAdded.Split(text))
        {
            if (token is not null) ids.Add(token.Id);
            else
            {
                var normalized = _normalizer.Apply(raw);
                foreach (var (segment, inner) in _normalizedAdded.Split(normalized))
                {
                    if (inner is not null) { ids.Add(inner.Id); continue; }
                    foreach (var piece in _preTokenizer.Apply(new Piece(segment, atStart))) _model.Encode(piece.Text, ids);
                    atStart = false;
                }
            }
            atStart = false;
        }
        if (addBos) ids.AddRange(_post.Suffix);
        foreach (var id in ids)
            if (id >= VocabSize)
                throw new InvalidOperationException($"the tokenizer gave id {id}, outside the model's vocabulary of {VocabSize}: tokenizer and model do not match.");
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: true);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && _addedById.TryGetValue(id, out var a) && a.Special) continue;
            tokens.Add(TokenOrMarker(id));
        }
        var text = tokens.Count == 0 ? "" : _decoder.Decode(tokens);
        return _cleanUp ? CleanUpSpaces(text) : text;
    }

    /// <summary>Decodes without <c>clean_up_tokenization_spaces</c>: the decoder of tokenizer.json alone.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the model's vocabulary.</exception>
    public string DecodeRaw(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = ids.Where(id => !(skipSpecialTokens && _addedById.TryGetValue(id, out var a) && a.Special)).Select(TokenOrMarker).ToList();
        return tokens.Count == 0 ? "" : _decoder.Decode(tokens);
    }

    /// <inheritdoc />
    public string TokenString(int id) => TryToken(id) ??
        throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} has no token in tokenizer.json (model vocabulary {VocabSize}).");

    private string? TryToken(int id) =>
        _addedById.TryGetValue(id, out var a) ? a.Content : id >= 0 && id < VocabSize && _model.IdToToken.TryGetValue(id, out var t) ? t : null;

    /// <summary>The token of an id, or <c>&lt;unk:ID&gt;</c> for an id of the model's vocabulary that the tokenizer has no
    /// token for (the padding rows of an embedding larger than the vocabulary, e.g. Qwen's 151,936 rows for 151,665
    /// tokens: a trained model never emits them, a random one does), so such an id is visible in decoded text, never
    /// dropped.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside the model's vocabulary.</exception>
    private string TokenOrMarker(int id) =>
        TryToken(id) ?? (id >= 0 && id < VocabSize ? $"<unk:{id}>"
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the model's vocabulary of {VocabSize}."));

    /// <inheritdoc />
    public string TokenText(int id) => _decoder.Decode([TokenOrMarker(id)]);

    /// <summary>transformers' <c>clean_up_tokenization_spaces</c>: removes the space before <c>. ? ! ,</c> and English
    /// contractions.</summary>
    public static string CleanUpSpaces(string text) => new StringBuilder(text)
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re")
        .ToString();
}
