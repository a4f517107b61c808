using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary><c>attneval tokenize</c> against Hugging Face's reference outputs, and <c>prompt.chat: auto</c> (the model's own
/// chat template) through a real run.</summary>
[Collection("attneval processes")]
public sealed class TokenizeAndChatTemplateTests
{
    private static (int Code, string Stdout, string Stderr) RunWithStdin(string stdin, params string[] args)
    {
        var psi = AttnEvalProcess.StartInfo(SharedData.RepoRoot, args);
        psi.RedirectStandardInput = true;
        psi.StandardInputEncoding = new System.Text.UTF8Encoding(false);
        psi.StandardOutputEncoding = System.Text.Encoding.UTF8;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException("attneval tokenize did not finish"); }
        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    [SkippableTheory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("mistral")]
    [InlineData("deepseek_v3")]
    [InlineData("tiny-random-gpt2")]
    public void Tokenize_json_gives_the_reference_ids_tokens_and_decoded_text_for_every_text(string family)
    {
        var records = File.ReadLines(SharedData.Require("tokenizers/conformance.jsonl"))
            .Select(l => JsonNode.Parse(l)!).Where(r => (string)r["family"]! == family).ToList();
        var folder = family == "tiny-random-gpt2" ? SharedData.Require("models/onnx/tiny-random-gpt2-fp32") : SharedData.Require(Path.Combine("tokenizers", family));
        var stdin = string.Concat(records.Select(r => JsonSerializer.Serialize((string)r["text"]!) + "\n"));
        foreach (var special in new[] { false, true })
        {
            var (code, stdout, stderr) = RunWithStdin(stdin, ["tokenize", folder, "--json", .. special ? new[] { "--special" } : []]);
            code.Should().Be(0, stderr);
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.Should().HaveCount(records.Count, "one JSON object per input line, in input order");
            for (int i = 0; i < records.Count; i++)
            {
                var got = JsonNode.Parse(lines[i])!;
                var r = records[i];
                var wantIds = special ? (r["ids_special_py"] ?? r["ids_special"])! : r["ids_plain"]!;
                got["ids"]!.ToJsonString().Should().Be(wantIds.ToJsonString(), $"{r["text_id"]} special={special}");
                if (!(special && r["ids_special_py"] is not null)) // Python's extra BOS has no reference decoding
                    got["decoded"]!.GetValue<string>().Should().Be((string)(special ? r["decoded_special"] : r["decoded"])!, $"{r["text_id"]} special={special}");
                if (!special) got["tokens"]!.ToJsonString().Should().Be(r["tokens"]!.ToJsonString());
            }
        }
    }

    [SkippableFact]
    public void Tokenize_chat_renders_the_models_template_and_tokenizes_it_as_apply_chat_template()
    {
        var reference = File.ReadLines(SharedData.Require("tokenizers/chat_templates.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(r => (string)r["family"]! is "qwen3" or "llama3" or "deepseek_v3").ToList();
        reference.Should().HaveCount(18);
        foreach (var r in reference)
        {
            var messages = Path.GetTempFileName();
            try
            {
                File.WriteAllText(messages, r["messages"]!.ToJsonString());
                var args = new List<string> { "tokenize", SharedData.Require(Path.Combine("tokenizers", (string)r["family"]!)), "--json", "--chat", messages };
                if (!(bool)r["add_generation_prompt"]!) args.Add("--no-generation-prompt");
                var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, [.. args]);
                code.Should().Be(0, stderr);
                var got = JsonNode.Parse(stdout)!;
                ((string)got["rendered"]!).Should().Be((string)r["rendered"]!, $"{r["family"]} {r["conv_id"]}");
                got["ids"]!.ToJsonString().Should().Be(r["ids"]!.ToJsonString(), $"{r["family"]} {r["conv_id"]}");
            }
            finally { File.Delete(messages); }
        }
    }

    [Fact]
    public void Bad_input_lines_are_named_and_the_good_ones_still_answered()
    {
        var (code, stdout, stderr) = RunWithStdin("\"K36\"\nnot json\n\"V84\"\n", "tokenize", "samples/models/attneval-lab", "--json");
        code.Should().Be(2);
        stderr.Should().Contain("stdin:2: expected one JSON string per line");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(3);
        JsonNode.Parse(lines[2])!["decoded"]!.GetValue<string>().Should().Be("V84");
    }

    [Fact]
    public void Chat_auto_on_a_model_without_a_template_is_refused_at_its_position()
    {
        var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["validate", "recipes/quickstart.yaml", "--set", "prompt.chat=auto", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2);
        (stdout + stderr).Should().MatchRegex(@"prompt\.chat: auto, but \S*attneval-lab has no chat template");
    }

    [Fact]
    public void Chat_auto_renders_the_models_template_and_adds_no_second_bos()
    {
        // The lab model with a chat template that renders "<s>" + the user message: the model must see exactly the
        // tokens of chat: none (BOS from the tokenizer + the same text), so answers and scores are identical.
        var model = Path.Combine(Path.GetTempPath(), "attneval-labchat-" + Guid.NewGuid().ToString("N")[..10]);
        var output = model + "-runs";
        try
        {
            Directory.CreateDirectory(model);
            foreach (var f in Directory.GetFiles(Path.Combine(SharedData.RepoRoot, "samples/models/attneval-lab")))
                File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer_config.json")))!;
            config["chat_template"] = "{{ bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}";
            File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), config.ToJsonString());

            List<JsonNode> Run(string chat)
            {
                var dir = AttnEvalProcess.RunRepoRecipe(Path.Combine(output, chat), "recipes/quickstart.yaml", "--limit", "12",
                    "--set", $"model.path={model}", "--set", $"prompt.chat={chat}", "--set", "metrics=[msp, mean-token-entropy]");
                return File.ReadLines(Path.Combine(dir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            }
            var plain = Run("none");
            var auto = Run("auto");
            auto.Should().HaveCount(12);
            for (int i = 0; i < plain.Count; i++)
            {
                ((string)auto[i]["prompt"]!).Should().Be("<s>" + (string)plain[i]["prompt"]!);
                ((int)auto[i]["prompt_tokens"]!).Should().Be((int)plain[i]["prompt_tokens"]!, "the rendered <s> is the BOS token, not text plus a second BOS");
                ((string)auto[i]["answer"]!).Should().Be((string)plain[i]["answer"]!);
                auto[i]["metrics"]!.ToJsonString().Should().Be(plain[i]["metrics"]!.ToJsonString());
            }
        }
        finally
        {
            try { Directory.Delete(model, true); Directory.Delete(output, true); } catch (IOException) { }
        }
    }
}
