// Command patchsdk makes the published github.com/hashicorp/vault/sdk v0.21.0
// compile with github.com/hashicorp/vault v1.21.4, whose in-tree sdk matches
// no published sdk exactly (see docs/reference/vault-build.md).
//
// It copies the sdk from the read-only module cache into a writable
// directory (removing whatever was there, so it can be rerun) and makes
// exactly two changes:
//
//  1. framework.Backend.ActivationFunc loses its trailing string parameter:
//     func(context.Context, *logical.Request) error.
//  2. keysutil.(*LockManager).RestorePolicy is replaced by the function as
//     sdk v0.25.1 has it (returning (string, error)), and the "errors"
//     import it needs is ensured.
//
// Every change must apply exactly once; anything unexpected is an error, so
// a different sdk version fails loudly instead of building something odd.
//
// Usage:
//
//	go run ./patchsdk -from <sdk@v0.21.0 dir> -body-from <sdk@v0.25.1 dir> -out <dir>
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

const (
	backendFile     = "framework/backend.go"
	lockManagerFile = "helper/keysutil/lock_manager.go"

	activationOld = "ActivationFunc func(context.Context, *logical.Request, string) error"
	activationNew = "ActivationFunc func(context.Context, *logical.Request) error"
)

func main() {
	from := flag.String("from", "", "directory of the published sdk to patch (v0.21.0)")
	bodyFrom := flag.String("body-from", "", "directory of the sdk to take RestorePolicy from (v0.25.1)")
	out := flag.String("out", "", "writable output directory (replaced)")
	flag.Parse()
	if *from == "" || *bodyFrom == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*from, *bodyFrom, *out); err != nil {
		fmt.Fprintln(os.Stderr, "patchsdk:", err)
		os.Exit(1)
	}
}

func run(from, bodyFrom, out string) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := copyTree(from, out); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := patchActivationFunc(filepath.Join(out, backendFile)); err != nil {
		return fmt.Errorf("%s: %w", backendFile, err)
	}
	if err := patchRestorePolicy(filepath.Join(out, lockManagerFile), filepath.Join(bodyFrom, lockManagerFile)); err != nil {
		return fmt.Errorf("%s: %w", lockManagerFile, err)
	}
	fmt.Printf("patchsdk: %s -> %s (ActivationFunc without string; RestorePolicy from %s)\n", from, out, bodyFrom)
	return nil
}

// copyTree copies a directory tree, making everything writable (the module
// cache is read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			return nil // the module cache holds no symlinks or devices
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	outFile, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(outFile, in); err != nil {
		outFile.Close()
		return err
	}
	return outFile.Close()
}

func patchActivationFunc(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if n := bytes.Count(src, []byte(activationOld)); n != 1 {
		return fmt.Errorf("want exactly one %q, found %d", activationOld, n)
	}
	src = bytes.Replace(src, []byte(activationOld), []byte(activationNew), 1)
	return writeGo(path, src)
}

func patchRestorePolicy(path, bodyPath string) error {
	donor, err := os.ReadFile(bodyPath)
	if err != nil {
		return err
	}
	dStart, dEnd, err := findRestorePolicy(bodyPath, donor)
	if err != nil {
		return err
	}
	newFunc := donor[dStart:dEnd]

	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	start, end, err := findRestorePolicy(path, src)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Write(src[:start])
	buf.Write(newFunc)
	buf.Write(src[end:])
	patched, err := ensureImport(path, buf.Bytes(), "errors")
	if err != nil {
		return err
	}
	return writeGo(path, patched)
}

// findRestorePolicy returns the byte range of the method
// (*LockManager).RestorePolicy, including its doc comment.
func findRestorePolicy(name string, src []byte) (int, int, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return 0, 0, err
	}
	var found *ast.FuncDecl
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "RestorePolicy" || fn.Recv == nil || len(fn.Recv.List) != 1 {
			continue
		}
		star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
		if !ok {
			continue
		}
		if id, ok := star.X.(*ast.Ident); ok && id.Name == "LockManager" {
			if found != nil {
				return 0, 0, errors.New("RestorePolicy defined twice")
			}
			found = fn
		}
	}
	if found == nil {
		return 0, 0, errors.New("(*LockManager).RestorePolicy not found")
	}
	start := found.Pos()
	if found.Doc != nil {
		start = found.Doc.Pos()
	}
	return fset.Position(start).Offset, fset.Position(found.End()).Offset, nil
}

// ensureImport adds a standard-library import to the first import block if
// the file does not import it yet.
func ensureImport(name string, src []byte, importPath string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == importPath {
			return src, nil
		}
	}
	block := []byte("import (\n")
	i := bytes.Index(src, block)
	if i < 0 {
		return nil, errors.New("no import block to add " + importPath + " to")
	}
	i += len(block)
	return append(src[:i:i], append([]byte("\t"+strconv.Quote(importPath)+"\n"), src[i:]...)...), nil
}

// writeGo gofmts src (which also proves it still parses) and writes it.
func writeGo(path string, src []byte) error {
	formatted, err := format.Source(src)
	if err != nil {
		return err
	}
	return os.WriteFile(path, formatted, 0o644)
}
