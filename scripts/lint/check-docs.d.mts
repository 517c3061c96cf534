export declare function slug(heading: string): string;
export declare function referencesOf(text: string): { links: string[]; paths: string[] };
export declare function checkDocs(root: string): string[];
