using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>The <c>model</c> of <c>tokenizer.json</c> when its type is <c>BPE</c>: merges run by Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/> (no normalizer, no pre-tokenizer: it sees one word at a time). What the library's BPE
/// lacks is mapped here, as Hugging Face's <c>tokenizers</c> defines it: <c>ignore_merges</c> (a word that is itself in
/// the vocabulary is one token), <c>byte_fallback</c> (a character with no piece becomes its UTF-8 bytes as
/// <c>&lt;0xNN&gt;</c> pieces), and the unknown-character rule (the <c>unk_token</c>, fused when <c>fuse_unk</c>,
/// or dropped when there is none — so its neighbours can still merge).</summary>
internal sealed class BpeWordModel
{
    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocab;
    private readonly bool _ignoreMerges;
    private readonly int[]? _byteIds;
    private readonly int? _unkId;
    private readonly bool _fuseUnk;

    private BpeWordModel(BpeTokenizer bpe, Dictionary<string, int> vocab, bool ignoreMerges, int[]? byteIds, int? unkId, bool fuseUnk)
    {
        _bpe = bpe;
        _vocab = vocab;
        _ignoreMerges = ignoreMerges;
        _byteIds = byteIds;
        _unkId = unkId;
        _fuseUnk = fuseUnk;
        IdToToken = new Dictionary<int, string>(vocab.Count);
        foreach (var (token, id) in vocab) IdToToken.TryAdd(id, token);
    }

    /// <summary>Token string of each vocabulary id (added tokens not included).</summary>
    public Dictionary<int, string> IdToToken { get; }

    /// <summary>The id of a vocabulary token, or null.</summary>
    public int? Lookup(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public static BpeWordModel Read(JsonSection model)
    {
        if (model.Type != "BPE")
            throw model.Unsupported("model", "BPE; SentencePiece Unigram models are read from tokenizer.model");
        if (!string.IsNullOrEmpty(model.String("continuing_subword_prefix")) || !string.IsNullOrEmpty(model.String("end_of_word_suffix")))
            throw model.Fail("uses continuing_subword_prefix/end_of_word_suffix, which AttnEval does not read (decoder LLM tokenizers leave them empty)");
        if (model.Element.TryGetProperty("dropout", out var d) && d.ValueKind == JsonValueKind.Number && d.GetDouble() > 0)
            throw model.Fail($"has BPE dropout {d.GetDouble()}, which makes encoding random; expected null or 0");

        var vocabSection = model.Child("vocab");
        if (vocabSection.Element.ValueKind != JsonValueKind.Object) throw vocabSection.Fail("is not an object of token → id");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabSection.Element.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id) || id < 0)
                throw vocabSection.Fail($"maps '{p.Name}' to {p.Value}, expected a non-negative integer id");
            vocab[p.Name] = id;
        }

        var merges = new List<string>();
        int index = 0;
        foreach (var m in model.Items("merges"))
        {
            string a, b;
            if (m.Element.ValueKind == JsonValueKind.Array && m.Element.GetArrayLength() == 2)
                (a, b) = (m.Element[0].GetString() ?? "", m.Element[1].GetString() ?? "");
            else if (m.Element.ValueKind == JsonValueKind.String && m.Element.GetString()!.Split(' ') is [var x, var y])
                (a, b) = (x, y);
            else throw m.Fail("is not a merge (expected \"a b\" or [\"a\", \"b\"])");
            if (a.Contains(' ') || b.Contains(' '))
                throw m.Fail($"merges pieces that contain a space ('{a}', '{b}'), which the BPE library cannot read");
            if (!vocab.ContainsKey(a) || !vocab.ContainsKey(b) || !vocab.ContainsKey(a + b))
                throw m.Fail($"merges '{a}' + '{b}', but the vocabulary lacks {(vocab.ContainsKey(a) ? vocab.ContainsKey(b) ? $"'{a + b}'" : $"'{b}'" : $"'{a}'")}");
            merges.Add($"{a} {b}");
            index++;
        }

        var unk = model.String("unk_token");
        int? unkId = unk is null ? null : vocab.TryGetValue(unk, out var u) ? u : throw model.Fail($"names unk_token '{unk}', which is not in the vocabulary");
        int[]? byteIds = null;
        if (model.Bool("byte_fallback", false))
        {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;
        }
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab) { Merges = merges, FuseUnknownTokens = false });
        return new BpeWordModel(bpe, vocab, model.Bool("ignore_merges", false), byteIds, unkId, model.Bool("fuse_unk", false));
    }

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Encode(string word, List<int> output)
    {
        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole))
        {
            output.Add(whole);
            return;
        }
        var known = new StringBuilder(word.Length);
        bool lastUnk = false;
        Span<byte> buf = stackalloc byte[4];
        foreach (var rune in word.EnumerateRunes())
        {
            var s = rune.ToString();
            if (_vocab.ContainsKey(s))
            {
                known.Append(s);
                lastUnk = false;
                continue;
            }
            if (_byteIds is not null)
            {
                int n = rune.EncodeToUtf8(buf);
                bool all = true;
                for (int i = 0; i < n; i++) all &= _byteIds[buf[i]] >= 0;
                if (all)
                {
                    Flush(known, output);
                    for (int i = 0; i < n; i++) output.Add(_byteIds[buf[i]]);
                    lastUnk = false;
                    continue;
                }
            }
            if (_unkId is { } unk)
            {
                Flush(known, output);
                if (!(lastUnk && _fuseUnk)) output.Add(unk);
                lastUnk = true;
            }
            // No piece, no byte fallback, no unk token: the character is dropped before merging (tokenizers' merge_word).
        }
        Flush(known, output);
    }

    private void Flush(StringBuilder known, List<int> output)
    {
        if (known.Length == 0) return;
        output.AddRange(_bpe.EncodeToIds(known.ToString(), considerPreTokenization: false, considerNormalization: false));
        known.Clear();
    }
}
