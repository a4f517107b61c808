using System.Text.Json;
using AttnEval.ModelFiles.Tokenization;
using AttnEval.TestSupport;

namespace AttnEval.ModelFiles.Tests;

/// <summary>Every record of <c>data/tokenizers/conformance.jsonl</c> (250 texts × 5 tokenizers, expected values from
/// Hugging Face's reference implementations): ids with and without special tokens, token strings, decoded text with
/// and without clean-up. DeepSeek V3's <c>ids_special</c> follows Python transformers (<c>ids_special_py</c>).</summary>
public sealed class TokenizerConformanceTests
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, HfTokenizer> Loaded = new();

    internal static HfTokenizer Load(string family) =>
        Loaded.GetOrAdd(family, f => HfTokenizer.Load(Path.Combine(TokenizerFolder(f), "tokenizer.json")));

    internal static string TokenizerFolder(string family) => family == "tiny-random-gpt2"
        ? SharedData.Require("models/onnx/tiny-random-gpt2-fp32")
        : SharedData.Require(Path.Combine("tokenizers", family));

    [SkippableTheory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("mistral")]
    [InlineData("deepseek_v3")]
    [InlineData("tiny-random-gpt2")]
    public void Every_record_matches_the_reference(string family)
    {
        var data = SharedData.Require("tokenizers/conformance.jsonl");
        var tok = Load(family);
        int records = 0;
        var failures = new List<string>();
        foreach (var line in File.ReadLines(data))
        {
            var r = JsonDocument.Parse(line).RootElement;
            if (r.GetProperty("family").GetString() != family) continue;
            records++;
            int[] Ids(string key) => r.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var text = r.GetProperty("text").GetString()!;
            var plain = Ids("ids_plain");
            var special = r.TryGetProperty("ids_special_py", out _) ? Ids("ids_special_py") : Ids("ids_special");
            var id = r.GetProperty("text_id").GetString();
            void Check(string what, object got, object want, bool equal)
            {
                if (!equal) failures.Add($"{id} {what}: got {JsonSerializer.Serialize(got)}, expected {JsonSerializer.Serialize(want)}");
            }
            var gotPlain = tok.Encode(text, addBos: false).ToArray();
            Check("ids_plain", gotPlain, plain, gotPlain.SequenceEqual(plain));
            var gotSpecial = tok.Encode(text, addBos: true).ToArray();
            Check("ids_special", gotSpecial, special, gotSpecial.SequenceEqual(special));
            var tokens = plain.Select(tok.TokenString).ToArray();
            var wantTokens = r.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray();
            Check("tokens", tokens, wantTokens, tokens.SequenceEqual(wantTokens));
            foreach (var (key, got) in new[]
            {
                ("decoded", tok.Decode(plain, skipSpecialTokens: false)),
                ("decoded_special", tok.Decode(Ids("ids_special"), skipSpecialTokens: false)),
                ("decoded_raw", tok.DecodeRaw(plain)),
            })
                Check(key, got, r.GetProperty(key).GetString()!, got == r.GetProperty(key).GetString());
        }
        records.Should().Be(250);
        failures.Should().BeEmpty($"all 250 {family} records must match the reference (first: {failures.FirstOrDefault()})");
    }

    [SkippableFact]
    public void Chat_template_records_tokenize_to_the_reference_ids()
    {
        var data = SharedData.Require("tokenizers/chat_templates.jsonl");
        int n = 0;
        foreach (var line in File.ReadLines(data))
        {
            var r = JsonDocument.Parse(line).RootElement;
            var tok = Load(r.GetProperty("family").GetString()!);
            var want = r.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            tok.Encode(r.GetProperty("rendered").GetString()!, addBos: false).Should().Equal(want, r.GetProperty("conv_id").GetString());
            n++;
        }
        n.Should().Be(18);
    }
}
