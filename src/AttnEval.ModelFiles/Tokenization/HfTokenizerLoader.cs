using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using Microsoft.ML.Tokenizers;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary>
/// Builds the tokenizer of a Hugging Face model folder, first match wins:
/// <list type="number">
/// <item><c>tokenizer.json</c> → <see cref="HfTokenizer"/> (normalizer, pre-tokenizer, BPE model, added tokens,
/// post-processor and decoder read faithfully; merges run in Microsoft.ML.Tokenizers);</item>
/// <item><c>tokenizer.model</c>: a SentencePiece protobuf → <see cref="LlamaTokenizer"/>; a tiktoken rank file → <see cref="TiktokenTokenizer"/> with the Llama 3 pre-tokenizer;</item>
/// <item><c>vocab.json</c> + <c>merges.txt</c> (GPT-2's files) → <see cref="HfTokenizer"/> with GPT-2's byte-level pre-tokenizer and decoder.</item>
/// </list>
/// BOS/EOS: <c>generation_config.json</c>, then <c>config.json</c>, then the token strings of <c>tokenizer_config.json</c>.
/// </summary>
public static class HfTokenizerLoader
{
    private const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>True when <paramref name="dir"/> holds a tokenizer this loader reads.</summary>
    public static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, "tokenizer.json")) || File.Exists(Path.Combine(dir, "tokenizer.model"))
        || (File.Exists(Path.Combine(dir, "vocab.json")) && File.Exists(Path.Combine(dir, "merges.txt")));

    /// <summary>Loads the tokenizer of folder <paramref name="dir"/>.</summary>
    /// <param name="dir">The model folder.</param>
    /// <param name="modelVocab">The model's vocabulary size (<c>vocab_size</c>; may exceed the tokenizer's); null for a tokenizer folder on its own.</param>
    /// <param name="configEos">EOS ids from config.json (used when generation_config.json has none).</param>
    /// <param name="configBos">BOS id from config.json, or null.</param>
    /// <exception cref="ModelLoadException">No supported tokenizer file, or a malformed one.</exception>
    public static ITokenizerDetails Load(string dir, int? modelVocab, IReadOnlyList<int> configEos, int? configBos)
    {
        var gen = File.Exists(Path.Combine(dir, "generation_config.json")) ? ConfigReader.Open(Path.Combine(dir, "generation_config.json")) : null;
        var genEos = gen?.Ids("eos_token_id") ?? [];
        var genBos = gen?.Ids("bos_token_id") ?? [];
        int? bosFromConfigs = genBos.Count > 0 ? genBos[0] : configBos;
        IReadOnlyList<int> eosFromConfigs = genEos.Count > 0 ? genEos : configEos;

        var tjPath = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(tjPath)) return HfTokenizer.Load(tjPath, modelVocab, bosFromConfigs, eosFromConfigs);
        var vocabPath = Path.Combine(dir, "vocab.json");
        var mergesPath = Path.Combine(dir, "merges.txt");
        var spPath = Path.Combine(dir, "tokenizer.model");
        if (!File.Exists(spPath) && File.Exists(vocabPath) && File.Exists(mergesPath))
            return HfTokenizer.FromGpt2Files(vocabPath, mergesPath, modelVocab, bosFromConfigs, eosFromConfigs);

        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        Tokenizer tok;
        try
        {
            if (File.Exists(spPath))
            {
                var bytes = File.ReadAllBytes(spPath);
                tok = bytes.Length > 0 && bytes[0] == 0x0A
                    ? LlamaTokenizer.Create(new MemoryStream(bytes), addBeginOfSentence: false, addEndOfSentence: false)
                    : TiktokenTokenizer.Create(new MemoryStream(bytes), new RegexPreTokenizer(new Regex(Llama3Pattern, RegexOptions.Compiled), null), null, ReadAddedTokens(dir, added));
            }
            else throw new ModelLoadException($"{dir}: no tokenizer (expected tokenizer.json, tokenizer.model, or vocab.json + merges.txt).");
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException($"{dir}: the tokenizer could not be read ({e.GetType().Name}: {e.Message}).", e);
        }
        ReadAddedTokens(dir, added);

        var tcfg = File.Exists(Path.Combine(dir, "tokenizer_config.json")) ? ConfigReader.Open(Path.Combine(dir, "tokenizer_config.json")) : null;
        int? Lookup(string? name) => name is null ? null : added.TryGetValue(name, out var id) ? id : tok.EncodeToIds(name) is [var single] ? single : null;
        int? bos = bosFromConfigs ?? Lookup(tcfg?.TokenContent("bos_token"));
        var eosList = eosFromConfigs.Count > 0 ? eosFromConfigs : Lookup(tcfg?.TokenContent("eos_token")) is { } eosId ? [eosId] : [];
        int? eos = eosList.Count > 0 ? eosList[0] : null;
        int vocab = modelVocab ?? Math.Max(added.Values.DefaultIfEmpty(0).Max() + 1, tok switch { LlamaTokenizer l => l.Vocabulary.Count, _ => 0 });
        return new LibraryTokenizer(tok, vocab, bos, eos, eosList, added.Values);
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
}
