using System.CommandLine;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Core.Prompts.ChatTemplates;
using AttnEval.ModelFiles;
using AttnEval.ModelFiles.Tokenization;

namespace AttnEval.Cli;

/// <summary>
/// <c>attneval tokenize &lt;model-or-tokenizer-folder&gt; [--text T]… [--json] [--special] [--chat messages.json]</c>:
/// what a user runs first when a new model misbehaves. Reads texts (each <c>--text</c>, else one JSON string per line
/// on stdin) and prints per text its ids, token strings and decoded text (Hugging Face's <c>encode</c>,
/// <c>convert_ids_to_tokens</c> and <c>decode(skip_special_tokens=False)</c>); <c>--json</c> writes one object per input
/// line, in input order, with keys <c>ids</c>, <c>tokens</c>, <c>decoded</c>. <c>--chat</c> renders the model's own chat
/// template over a JSON list of messages and tokenizes the result as <c>apply_chat_template</c> does.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Build()
    {
        var path = new Argument<string>("model") { Description = "A model or tokenizer folder (tokenizer.json, tokenizer.model, or vocab.json + merges.txt), or a tokenizer.json file" };
        var text = new Option<string[]>("--text") { Description = "A text to tokenize (repeatable); without it, one JSON string per line is read from stdin", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "One JSON object per input: {\"ids\", \"tokens\", \"decoded\"}" };
        var special = new Option<bool>("--special") { Description = "Add the special tokens a prompt gets (BOS and the like, as add_special_tokens=True)" };
        var chat = new Option<string?>("--chat") { Description = "A JSON file with a list of {role, content} messages: render the model's chat template and tokenize the result" };
        var template = new Option<string?>("--template") { Description = "With --chat: a named chat template of tokenizer_config.json (e.g. tool_use)" };
        var noGenerationPrompt = new Option<bool>("--no-generation-prompt") { Description = "With --chat: render without the assistant header at the end (add_generation_prompt=False)" };
        var cmd = new Command("tokenize", "Show how a model's tokenizer splits text: ids, token strings and the decoded text (and its chat template with --chat)")
            { path, text, json, special, chat, template, noGenerationPrompt };
        cmd.SetAction(r => Run(r.GetValue(path)!, r.GetValue(text) ?? [], r.GetValue(json), r.GetValue(special), r.GetValue(chat),
            r.GetValue(template), !r.GetValue(noGenerationPrompt)));
        return cmd;
    }

    private static int Run(string path, string[] texts, bool json, bool special, string? chat, string? templateName, bool addGenerationPrompt)
    {
        ITokenizerDetails tokenizer;
        string dir;
        try
        {
            (tokenizer, dir) = Load(path);
        }
        catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"attneval: {e.Message}");
            return Cli.BadInput;
        }

        if (chat is not null)
        {
            try
            {
                var template = ChatTemplate.FromModelFolder(dir, templateName)
                    ?? throw new ChatTemplateException($"{dir}: no chat template (neither chat_template.jinja nor chat_template in tokenizer_config.json)");
                using var doc = JsonDocument.Parse(File.ReadAllBytes(chat));
                var rendered = template.Render(doc.RootElement, addGenerationPrompt);
                Print(tokenizer, rendered, addSpecial: special, json, rendered: true);
                return Cli.Ok;
            }
            catch (JsonException e)
            {
                Console.Error.WriteLine($"attneval: {chat}:{e.LineNumber + 1}:{e.BytePositionInLine + 1}: not valid JSON (expected a list of {{\"role\", \"content\"}} messages): {e.Message}");
                return Cli.BadInput;
            }
            catch (Exception e) when (e is ChatTemplateException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"attneval: {e.Message}");
                return Cli.BadInput;
            }
        }

        int status = Cli.Ok;
        if (texts.Length > 0)
        {
            foreach (var t in texts) Print(tokenizer, t, special, json, rendered: false);
            return status;
        }
        int lineNo = 0;
        string? line;
        while ((line = Console.In.ReadLine()) is not null)
        {
            lineNo++;
            string? input = null;
            try { input = JsonSerializer.Deserialize<string>(line); }
            catch (JsonException) { }
            if (input is null)
            {
                Console.Error.WriteLine($"attneval: stdin:{lineNo}: expected one JSON string per line (e.g. \"Hello world\"), got {Clip(line)}");
                status = Cli.BadInput;
                if (json) Console.WriteLine(JsonSerializer.Serialize(new { error = $"stdin:{lineNo}: not a JSON string" }));
                continue;
            }
            Print(tokenizer, input, special, json, rendered: false);
        }
        return status;
    }

    private static (ITokenizerDetails Tokenizer, string Dir) Load(string path)
    {
        if (File.Exists(path) && Path.GetFileName(path) == "tokenizer.json")
            return (HfTokenizer.Load(path), Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!Directory.Exists(path)) throw new ModelLoadException($"{path}: not found (expected a model or tokenizer folder, or a tokenizer.json file).");
        int? vocab = null, bos = null;
        IReadOnlyList<int> eos = [];
        var configPath = Path.Combine(path, "config.json");
        if (File.Exists(configPath))
        {
            var config = ConfigReader.Open(configPath);
            vocab = config.Has("vocab_size") ? config.Int("vocab_size") : null;
            bos = config.Ids("bos_token_id") is [var b, ..] ? b : null;
            eos = config.Ids("eos_token_id");
        }
        if (!HfTokenizerLoader.HasTokenizer(path))
            throw new ModelLoadException($"{path}: no tokenizer (expected tokenizer.json, tokenizer.model, or vocab.json + merges.txt).");
        return (HfTokenizerLoader.Load(path, vocab, eos, bos), path);
    }

    private static void Print(ITokenizerDetails tokenizer, string text, bool addSpecial, bool json, bool rendered)
    {
        var ids = tokenizer.Encode(text, addSpecial);
        var tokens = ids.Select(tokenizer.TokenString).ToList();
        var decoded = tokenizer.Decode(ids, skipSpecialTokens: false);
        if (json)
        {
            object record = rendered ? new { ids, tokens, decoded, rendered = text } : new { ids, tokens, decoded };
            Console.WriteLine(JsonSerializer.Serialize(record, Options));
            return;
        }
        if (rendered) Console.WriteLine($"rendered: {JsonSerializer.Serialize(text, Options)}");
        else Console.WriteLine($"text:    {JsonSerializer.Serialize(text, Options)}");
        Console.WriteLine($"ids:     [{string.Join(", ", ids)}]  ({ids.Count} tokens)");
        Console.WriteLine($"tokens:  [{string.Join(", ", tokens.Select(t => JsonSerializer.Serialize(t, Options)))}]");
        Console.WriteLine($"decoded: {JsonSerializer.Serialize(decoded, Options)}{(decoded == text || addSpecial || rendered ? "" : "  (differs from the text)")}");
        Console.WriteLine();
    }

    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Clip(string s) => s.Length > 60 ? s[..60] + "…" : s;
}
