using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Core.Prompts;
using AttnEval.Core.Recipes;
using Microsoft.Extensions.AI;

namespace AttnEval.SemanticKernel;

/// <summary>
/// Turns a list of chat messages into the text a local model sees, in one of the chat formats of
/// <see cref="PromptBuilder.Wrap"/> (none, Llama 3 headers, ChatML). System messages are joined into one system
/// block; earlier user/assistant turns are rendered turn by turn; the prompt ends where the assistant's answer starts.
/// </summary>
/// <param name="format">The chat format.</param>
public sealed class ChatPromptFormatter(ChatFormat format)
{
    /// <summary>The chat format.</summary>
    public ChatFormat Format { get; } = format;

    /// <summary>Strings that end an assistant turn in this format (given to the model as stop strings):
    /// <c>&lt;|eot_id|&gt;</c> for Llama 3, <c>&lt;|im_end|&gt;</c> for ChatML, none for plain text.</summary>
    public IReadOnlyList<string> StopStrings => Format switch
    {
        ChatFormat.Llama3 => ["<|eot_id|>"],
        ChatFormat.ChatMl => ["<|im_end|>"],
        _ => [],
    };

    /// <summary>Renders <paramref name="messages"/>. Tool and other non-text contents are ignored; only text counts.</summary>
    /// <exception cref="ArgumentException">No user message, or the last non-system message is not from the user.</exception>
    public string Render(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var all = messages.ToList();
        var system = string.Join("\n", all.Where(m => m.Role == ChatRole.System).Select(m => m.Text).Where(t => t.Length > 0));
        var turns = all.Where(m => m.Role != ChatRole.System).ToList();
        if (turns.Count == 0 || turns[^1].Role != ChatRole.User)
            throw new ArgumentException($"the conversation must end with a user message (got {(turns.Count == 0 ? "no user message" : $"a last message from '{turns[^1].Role}'")})", nameof(messages));

        var sb = new StringBuilder();
        string? pendingSystem = system.Length > 0 ? system : null;
        foreach (var m in turns)
        {
            if (m.Role == ChatRole.Assistant)
            {
                sb.Append(m.Text).Append(EndOfTurn);
                continue;
            }
            sb.Append(PromptBuilder.Wrap(m.Text, Format, pendingSystem));
            pendingSystem = null;
        }
        return sb.ToString();
    }

    private string EndOfTurn => Format switch
    {
        ChatFormat.Llama3 => "<|eot_id|>",
        ChatFormat.ChatMl => "<|im_end|>\n",
        _ => "\n",
    };

    /// <summary>
    /// The chat format named by a Hugging Face model folder's <c>tokenizer_config.json</c> <c>chat_template</c>:
    /// ChatML when it uses <c>&lt;|im_start|&gt;</c>, Llama 3 when it uses <c>&lt;|start_header_id|&gt;</c>, otherwise
    /// (no file, no template, another template) <see cref="ChatFormat.None"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file exists but is not JSON; the message names the file.</exception>
    public static ChatFormat FromModelFolder(string modelPath)
    {
        var file = Path.Combine(Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "tokenizer_config.json");
        if (!File.Exists(file)) return ChatFormat.None;
        string? template;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            template = doc.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}:{e.LineNumber + 1}:{e.BytePositionInLine + 1}: expected a JSON object with an optional string 'chat_template' ({e.Message})", e);
        }
        return FromTemplate(template);
    }

    /// <summary>The chat format a Jinja chat template text uses (see <see cref="FromModelFolder"/>); null → none.</summary>
    public static ChatFormat FromTemplate(string? chatTemplate) =>
        chatTemplate is null ? ChatFormat.None
        : chatTemplate.Contains("<|im_start|>", StringComparison.Ordinal) ? ChatFormat.ChatMl
        : chatTemplate.Contains("<|start_header_id|>", StringComparison.Ordinal) ? ChatFormat.Llama3
        : ChatFormat.None;

    /// <summary>The chat format a tokenizer's special tokens imply: ChatML when <c>&lt;|im_start|&gt;</c> encodes as one
    /// token, Llama 3 when <c>&lt;|start_header_id|&gt;</c> does, else none. Use when no model folder is at hand.</summary>
    public static ChatFormat FromTokenizer(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return tokenizer.Encode("<|im_start|>").Count == 1 ? ChatFormat.ChatMl
            : tokenizer.Encode("<|start_header_id|>").Count == 1 ? ChatFormat.Llama3
            : ChatFormat.None;
    }
}
