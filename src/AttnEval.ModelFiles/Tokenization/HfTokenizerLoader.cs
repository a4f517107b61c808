using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using Microsoft.ML.Tokenizers;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary>
/// Builds the tokenizer of a Hugging Face model folder with Microsoft.ML.Tokenizers (framework-anchors §6), first match wins:
/// <list type="number">
/// <item><c>tokenizer.json</c> with a BPE model: byte-level (GPT-2 style) → its vocab and merges read into <see cref="CodeGenTokenizer"/>;
/// SentencePiece style (<c>byte_fallback</c>) → a SentencePiece BPE model written in memory (piece score = −merge rank) for <see cref="SentencePieceTokenizer"/>;</item>
/// <item><c>tokenizer.model</c>: a SentencePiece protobuf → <see cref="LlamaTokenizer"/>; a tiktoken rank file → <see cref="TiktokenTokenizer"/> with the Llama 3 pre-tokenizer;</item>
/// <item><c>vocab.json</c> + <c>merges.txt</c> → <see cref="CodeGenTokenizer"/> (byte-level BPE).</item>
/// </list>
/// BOS/EOS: <c>generation_config.json</c>, then <c>config.json</c>, then the token strings of <c>tokenizer_config.json</c>.
/// </summary>
public static class HfTokenizerLoader
{
    private const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Loads the tokenizer of folder <paramref name="dir"/>.</summary>
    /// <param name="dir">The model folder.</param>
    /// <param name="modelVocab">The model's vocabulary size (<c>vocab_size</c>; may exceed the tokenizer's).</param>
    /// <param name="configEos">EOS ids from config.json (used when generation_config.json has none).</param>
    /// <param name="configBos">BOS id from config.json, or null.</param>
    /// <exception cref="ModelLoadException">No supported tokenizer file, or a malformed one.</exception>
    public static LibraryTokenizer Load(string dir, int modelVocab, IReadOnlyList<int> configEos, int? configBos)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        Tokenizer tok;
        Func<int, string>? display = null;
        var tjPath = Path.Combine(dir, "tokenizer.json");
        var spPath = Path.Combine(dir, "tokenizer.model");
        var vocabPath = Path.Combine(dir, "vocab.json");
        var mergesPath = Path.Combine(dir, "merges.txt");
        try
        {
            if (File.Exists(tjPath)) tok = FromTokenizerJson(tjPath, added);
            else if (File.Exists(spPath))
            {
                var bytes = File.ReadAllBytes(spPath);
                tok = bytes.Length > 0 && bytes[0] == 0x0A
                    ? LlamaTokenizer.Create(new MemoryStream(bytes), addBeginOfSentence: false, addEndOfSentence: false)
                    : TiktokenTokenizer.Create(new MemoryStream(bytes), new RegexPreTokenizer(new Regex(Llama3Pattern, RegexOptions.Compiled), null), null, ReadAddedTokens(dir, added));
            }
            else if (File.Exists(vocabPath) && File.Exists(mergesPath))
            {
                using var v = File.OpenRead(vocabPath);
                using var m = File.OpenRead(mergesPath);
                tok = CodeGenTokenizer.Create(v, m, addPrefixSpace: false, addBeginOfSentence: false, addEndOfSentence: false);
            }
            else throw new ModelLoadException($"{dir}: no tokenizer (expected tokenizer.json, tokenizer.model, or vocab.json + merges.txt).");
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException($"{dir}: the tokenizer could not be read ({e.GetType().Name}: {e.Message}).", e);
        }
        ReadAddedTokens(dir, added);

        var gen = File.Exists(Path.Combine(dir, "generation_config.json")) ? ConfigReader.Open(Path.Combine(dir, "generation_config.json")) : null;
        var tcfg = File.Exists(Path.Combine(dir, "tokenizer_config.json")) ? ConfigReader.Open(Path.Combine(dir, "tokenizer_config.json")) : null;
        int? Lookup(string? name) => name is null ? null : added.TryGetValue(name, out var id) ? id : tok.EncodeToIds(name) is [var single] ? single : null;
        var genEos = gen?.Ids("eos_token_id") ?? [];
        var genBos = gen?.Ids("bos_token_id") ?? [];
        int? bos = genBos.Count > 0 ? genBos[0] : configBos ?? Lookup(TokenString(tcfg, "bos_token"));
        var eosList = genEos.Count > 0 ? genEos : configEos.Count > 0 ? configEos : Lookup(TokenString(tcfg, "eos_token")) is { } eosId ? [eosId] : [];
        int? eos = eosList.Count > 0 ? eosList[0] : null;
        return new LibraryTokenizer(tok, modelVocab, bos, eos, eosList, added.Values, display);
    }

    private static string? TokenString(ConfigReader? r, string key)
    {
        if (r?.Element(key) is not { } v) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString() : null;
    }

    /// <summary>Adds <c>added_tokens_decoder</c> of tokenizer_config.json to <paramref name="added"/>.</summary>
    private static Dictionary<string, int> ReadAddedTokens(string dir, Dictionary<string, int> added)
    {
        var path = Path.Combine(dir, "tokenizer_config.json");
        if (!File.Exists(path)) return added;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        if (doc.RootElement.TryGetProperty("added_tokens_decoder", out var dec) && dec.ValueKind == JsonValueKind.Object)
            foreach (var p in dec.EnumerateObject())
                if (int.TryParse(p.Name, out var id) && p.Value.TryGetProperty("content", out var c) && c.GetString() is { } s) added.TryAdd(s, id);
        return added;
    }

    private static Tokenizer FromTokenizerJson(string path, Dictionary<string, int> added)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
            foreach (var t in at.EnumerateArray()) added.TryAdd(t.GetProperty("content").GetString()!, t.GetProperty("id").GetInt32());
        var model = root.GetProperty("model");
        var type = model.TryGetProperty("type", out var ty) ? ty.GetString() : "BPE";
        if (type != "BPE") throw new ModelLoadException($"{path}: tokenizer model type '{type}' is not supported (expected BPE; use tokenizer.model for SentencePiece Unigram).");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => (p.Name, Id: p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!).ToList();
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        string raw = root.GetRawText();
        bool byteLevel = raw.Contains("\"ByteLevel\"", StringComparison.Ordinal);
        if (byteLevel && !byteFallback)
        {
            var vocabJson = JsonSerializer.SerializeToUtf8Bytes(vocab.ToDictionary(v => v.Name, v => v.Id));
            var mergesTxt = Encoding.UTF8.GetBytes("#version: 0.2\n" + string.Join("\n", merges) + "\n");
            bool prefixSpace = raw.Contains("\"add_prefix_space\":true", StringComparison.Ordinal) || raw.Contains("\"add_prefix_space\": true", StringComparison.Ordinal);
            return CodeGenTokenizer.Create(new MemoryStream(vocabJson), new MemoryStream(mergesTxt), addPrefixSpace: prefixSpace, addBeginOfSentence: false, addEndOfSentence: false);
        }
        // SentencePiece-style BPE (Llama 2 / Mistral tokenizer.json): score of a merged piece = −(rank of its merge).
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < merges.Count; r++) rank.TryAdd(merges[r].Replace(" ", "", StringComparison.Ordinal), r);
        int n = vocab.Max(v => v.Id) + 1;
        var pieces = new SentencePieceModelWriter.Piece[n];
        for (int i = 0; i < n; i++) pieces[i] = new($"<unused{i}>", -1e9f, SentencePieceModelWriter.PieceType.Unused);
        string? unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        var specials = added.Values.ToHashSet();
        foreach (var (name, id) in vocab)
        {
            var type2 = name == unk ? SentencePieceModelWriter.PieceType.Unknown
                : specials.Contains(id) ? SentencePieceModelWriter.PieceType.Control
                : Regex.IsMatch(name, "^<0x[0-9A-F]{2}>$") ? SentencePieceModelWriter.PieceType.Byte
                : SentencePieceModelWriter.PieceType.Normal;
            pieces[id] = new(name, rank.TryGetValue(name, out var r) ? -r : name.Length == 1 ? 0 : -1e9f, type2);
        }
        int Id(string? s, int fallback) => s is not null && added.TryGetValue(s, out var i) ? i : fallback;
        bool dummyPrefix = raw.Contains("\"Prepend\"", StringComparison.Ordinal) || raw.Contains("\"prepend_scheme\":\"first\"", StringComparison.Ordinal) || raw.Contains("\"prepend_scheme\":\"always\"", StringComparison.Ordinal);
        var proto = SentencePieceModelWriter.WriteBpe(pieces, Id(unk, 0), Id("<s>", 1), Id("</s>", 2), byteFallback, dummyPrefix);
        return SentencePieceTokenizer.Create(new MemoryStream(proto), addBeginningOfSentence: false, addEndOfSentence: false);
    }
}
