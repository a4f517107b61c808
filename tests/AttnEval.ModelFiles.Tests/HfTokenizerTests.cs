using AttnEval.Abstractions;
using AttnEval.ModelFiles.Tokenization;
using AttnEval.TestSupport;

namespace AttnEval.ModelFiles.Tests;

/// <summary>The faults issue 13 reported, and the errors a malformed or unsupported tokenizer.json gets.</summary>
public sealed class HfTokenizerTests
{
    private static HfTokenizer Gpt2() => HfTokenizer.Load(Path.Combine(TokenizerConformanceTests.TokenizerFolder("tiny-random-gpt2"), "tokenizer.json"));

    [SkippableFact]
    public void Gpt2_prefix_space_comes_from_the_pre_tokenizer_not_the_post_processor()
    {
        // Hugging Face: "Hello, world!" → [40 ('H'), ...]; reading add_prefix_space from anywhere in the file gave 282 ('ĠH').
        var ids = Gpt2().Encode("Hello, world!");
        ids[0].Should().Be(40);
        Gpt2().TokenString(40).Should().Be("H");
    }

    [SkippableFact]
    public void Runs_of_spaces_stay_in_the_vocabulary_and_round_trip()
    {
        var tok = Gpt2();
        var ids = tok.Encode("a  b");
        ids.Should().OnlyContain(i => i < 1000, "the vocabulary has 1,000 entries");
        tok.Decode(ids).Should().Be("a  b");
    }

    [SkippableFact]
    public void An_id_outside_the_vocabulary_is_an_error_not_dropped()
    {
        var tok = Gpt2();
        var act = () => tok.Decode([40, 5000]);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*5000*");
    }

    [SkippableFact]
    public void Gpt2_vocab_and_merges_files_give_the_same_ids_as_its_tokenizer_json()
    {
        var folder = TokenizerConformanceTests.TokenizerFolder("tiny-random-gpt2");
        var dir = Directory.CreateTempSubdirectory("gpt2files").FullName;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));
            var model = doc.RootElement.GetProperty("model");
            File.WriteAllText(Path.Combine(dir, "vocab.json"), model.GetProperty("vocab").GetRawText());
            File.WriteAllLines(Path.Combine(dir, "merges.txt"), ["#version: 0.2", .. model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!)]);
            var fromFiles = HfTokenizerLoader.Load(dir, null, [], null);
            foreach (var text in new[] { "Hello, world!", "a  b\n\n  c", "numbers 12345 and symbols !?" })
                fromFiles.Encode(text).Should().Equal(Gpt2().Encode(text), text);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_lab_model_tokenizer_adds_its_bos_and_keeps_keys_whole()
    {
        var tok = HfTokenizerLoader.Load(Path.Combine(SharedData.RepoRoot, "samples/models/attneval-lab"), 1169, [2], 1);
        var ids = tok.Encode("Records: K36 V84", addBos: true);
        ids[0].Should().Be(1);
        ids.Skip(1).Select(tok.TokenString).Should().Equal("Records", ":", "▁K36", "▁V84");
        tok.Decode(ids).Should().Be("Records: K36 V84");
    }

    [Theory]
    [InlineData("""{"model": {"type": "Unigram", "vocab": []}}""", "$.model is a model of type 'Unigram'")]
    [InlineData("""{"normalizer": {"type": "Precompiled"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "$.normalizer is a normalizer of type 'Precompiled'")]
    [InlineData("""{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "UnicodeScripts"}]}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "$.pre_tokenizer.pretokenizers[0] is a pre-tokenizer of type 'UnicodeScripts'")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}""", "$.model.merges[0] merges 'a' + 'b', but the vocabulary lacks 'ab'")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}""", "$.model names unk_token '<unk>'")]
    public void A_component_it_does_not_read_is_refused_with_its_json_path(string json, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("badtok").FullName;
        try
        {
            var path = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(path, json);
            var act = () => HfTokenizer.Load(path);
            act.Should().Throw<ModelLoadException>().WithMessage($"{path}: {expected}*");
        }
        finally { Directory.Delete(dir, true); }
    }
}
