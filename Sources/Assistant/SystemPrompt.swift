/// The system prompt of a coding conversation.
///
/// Short on purpose: small models follow two or three concrete instructions and one example far better
/// than a page of rules. It names the edit formats the Patch module reads: a path line, then a fence with
/// the whole new file (the format small models manage best), or a fenced SEARCH/REPLACE block. Chosen by
/// trying variants greedily on SmolLM2-135M-Instruct and Qwen2.5-Coder-0.5B-Instruct (see README); the
/// models still often leave out the path line, which `SnippetResolver` makes up for.
public enum SystemPrompt {
    /// The prompt for a workspace; `projectName` is the root directory's name.
    public static func coding(projectName: String) -> String {
        """
        You are wafer, a coding assistant in the repository "\(projectName)". Be brief.
        To change a file, reply with its path on a line of its own, then the complete new file in a fenced code block:

        <path of the file>
        ```python
        (the whole file, with your change)
        ```

        For a small change to a long file, you may instead write the path, then a fenced block with \
        <<<<<<< SEARCH, the exact old lines, =======, the new lines, >>>>>>> REPLACE.
        """
    }
}
