/*
 * Checks shared by the Super SIM node editors. Node-RED serves a module's resources/ folder at
 * resources/<module>/, so every node's .html can load this one file instead of carrying a copy.
 */
(function () {
    // The same rules as the runtime's src/commands/validate.ts; the node checks again when a message arrives.
    // Validators that give a reason take (v, opt): Node-RED reads a string as a reason only from two-argument ones.
    function isBlank(v) { return v === undefined || v === null || String(v).trim() === ""; }
    function simOk(v) {
        if (isBlank(v)) { return true; }
        var text = String(v).trim();
        // Control characters and '/' cannot be in a unique name.
        // eslint-disable-next-line no-control-regex
        if (text.length > 64 || /[\u0000-\u001f\u007f-\u009f/]/.test(text)) { return false; }
        if (/^(HS|DE)[0-9a-fA-F]{32}$/.test(text)) { return true; }
        var rest = /^(?:HS|DE)(.*)$/.exec(text);
        if (rest === null) { return true; }
        // A SID that lost or gained characters in copying is refused rather than taken as a unique name.
        return !((text.length === 34 && /^[0-9A-Za-z]+$/.test(rest[1])) || (rest[1].length >= 24 && /^[0-9a-fA-F]+$/.test(rest[1])));
    }
    function wholeNumberIn(v, min, max) {
        var text = String(v).trim();
        return /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max;
    }
    function httpUrlOk(v) {
        if (isBlank(v)) { return true; }
        try {
            var protocol = new URL(String(v).trim()).protocol;
            return protocol === "http:" || protocol === "https:";
        } catch {
            return false;
        }
    }


    window.SupersimEditor = { isBlank: isBlank, simOk: simOk, wholeNumberIn: wholeNumberIn, httpUrlOk: httpUrlOk };
})();
