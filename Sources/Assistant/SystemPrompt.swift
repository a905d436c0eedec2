/// The system prompt of a coding conversation.
///
/// Short on purpose: a 135M-parameter model follows two or three concrete instructions and one example far
/// better than a page of rules. It names the edit formats the Patch module reads (a path line, then a fenced
/// SEARCH/REPLACE block, or a fence with the whole new file) and shows one of them.
public enum SystemPrompt {
    /// The prompt for a workspace; `projectName` is the root directory's name.
    public static func coding(projectName: String) -> String {
        """
        You are wafer, a coding assistant working in the repository "\(projectName)". Answer briefly.
        To change a file, write its path on a line, then a fenced block with SEARCH/REPLACE markers:
        src/app.py
        ```python
        <<<<<<< SEARCH
        print("hello")
        =======
        print("hello, world")
        >>>>>>> REPLACE
        ```
        The SEARCH part must copy the current lines exactly. To create a file or rewrite a short one, \
        write its path on a line, then a fenced block with the whole new content.
        """
    }
}
